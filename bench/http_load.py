"""A lean HTTP/1.1 load generator: pre-built requests on keep-alive connections.

httpx spends about as much CPU per request as the API does; on two cores it would measure the
client. These loops write ready-made request bytes and read the answer by its Content-Length,
so the benchmark's own CPU stays small beside the API's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def request(method: str, path: str, token: str, body: bytes = b"",
            content_type: str = "application/json") -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Length: {len(body)}\r\n")
    if body:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + body


@dataclass
class Answers:
    """What the loops got: latency per request (ms) and counts by status."""

    ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    bodies: list[bytes] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.ms)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    raw: bytes) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def run(host: str, port: int, requests: Sequence[bytes], connections: int,
              keep: Callable[[int, bytes], bool] | None = None,
              until: float | None = None) -> Answers:
    """Send ``requests`` (each once, in order, shared by ``connections`` loops), or cycle
    through them until ``until`` seconds passed; ``keep`` says which bodies to keep."""
    answers = Answers()
    position = 0
    started = time.monotonic()

    async def loop() -> None:
        nonlocal position
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                if until is None:
                    if position >= len(requests):
                        return
                    raw = requests[position]
                elif time.monotonic() - started >= until:
                    return
                else:
                    raw = requests[position % len(requests)]
                position += 1
                sent = time.perf_counter()
                status, body = await _exchange(reader, writer, raw)
                answers.ms.append((time.perf_counter() - sent) * 1000)
                answers.statuses[status] = answers.statuses.get(status, 0) + 1
                if keep is not None and keep(status, body):
                    answers.bodies.append(body)
        finally:
            writer.close()

    await asyncio.gather(*(loop() for _ in range(connections)))
    answers.seconds = time.monotonic() - started
    return answers
