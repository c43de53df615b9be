"""An example market actor's integration: poll a queue, store durably, then acknowledge.

This is what a supplier's (or grid owner's, or third party's) side of straum looks like, kept
small enough to read in one go. Delivery is *at least once*: a message comes again when its
poll was not acknowledged (the actor crashed, the acknowledgement was lost, an API process
restarted) and after a replay. So an actor must

1. **poll** its queue (``POST /v1/queues/{queue}/poll``): up to ``max`` messages and a
   ``pollId``, or 204 when there is nothing; polling again before acknowledging returns the
   same poll;
2. **store each message durably** before anything else: here one file per message, written to
   a temporary file, fsynced and renamed into place, so a crash never leaves half a file;
3. **de-duplicate on ``messageId``**: a message whose id is already stored is a redelivery and
   is skipped (straum gives a message the same id every time it sends it);
4. only then **acknowledge** the poll (``POST /v1/queues/{queue}/ack``), which moves the queue
   past it. Acknowledging before storing could lose messages; storing before acknowledging
   can only duplicate them, and step 3 absorbs that.

An empty queue is polled again after a pause that grows from 0.2 s to 5 s; server errors (5xx,
429) and connection errors are retried with the same backoff. Run it as::

    python -m connectors.market_client http://127.0.0.1:8080 "$TOKEN" metering-values ./inbox
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

log = logging.getLogger(__name__)

FIRST_DELAY = 0.2  # seconds to wait after an empty poll or an error, doubled each time...
MAX_DELAY = 5.0  # ...up to this


@dataclass(frozen=True)
class Poll:
    """One poll's answer: its id (to acknowledge) and its messages, oldest first."""

    poll_id: str
    messages: list[dict[str, Any]]


class MarketClient:
    """A market actor's connection to straum's queue API, authenticated by a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})

    def poll(self, queue: str, max: int = 100) -> Poll | None:
        """The next messages of ``queue`` (at most ``max``), or None when it is empty."""
        response = self._http.post(f"/v1/queues/{queue}/poll", params={"max": max})
        if response.status_code == 204:
            return None
        response.raise_for_status()
        body = response.json()
        return Poll(poll_id=body["pollId"], messages=body["messages"])

    def ack(self, queue: str, poll_id: str) -> str:
        """Acknowledge a poll: "acknowledged", or "already_acknowledged" the second time."""
        response = self._http.post(f"/v1/queues/{queue}/ack", json={"pollId": poll_id})
        response.raise_for_status()
        return str(response.json()["status"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MarketClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def store_message(store_dir: Path, message: dict[str, Any]) -> bool:
    """Write ``message`` to ``<store_dir>/<messageId>.json`` durably; False if it was there.

    The file appears whole or not at all: the content goes to a temporary file in the same
    directory, is fsynced, and is renamed over the final name. (A crash may leave a
    ``.*.tmp`` file behind; it is never read and can be deleted.) The caller fsyncs the
    directory, which makes the renames themselves durable, before acknowledging.
    """
    message_id = str(uuid.UUID(message["messageId"]))  # a UUID, so never a path of its own
    final = store_dir / f"{message_id}.json"
    if final.exists():
        return False  # a redelivery: stored already
    fd, temporary = tempfile.mkstemp(dir=store_dir, prefix=f".{message_id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(message, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def fsync_directory(directory: Path) -> None:
    """Make the files created or renamed in ``directory`` survive a power loss."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def retryable(error: httpx.HTTPError) -> bool:
    """Connection trouble and server-side errors pass; anything else is the caller's to fix."""
    if isinstance(error, httpx.TransportError):
        return True
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        return status >= 500 or status == 429
    return False


def run_poll_loop(base_url: str, token: str, queue: str, store_dir: Path,
                  stop_after: int | None = None, idle_exit_seconds: float | None = None,
                  max_per_poll: int = 100) -> int:
    """Poll ``queue``, store each new message in ``store_dir``, acknowledge; repeat.

    Returns the number of new messages stored (redeliveries are not counted). Stops once
    ``stop_after`` new messages are stored, or when no message has come for
    ``idle_exit_seconds``; with neither it runs until interrupted. Errors other than
    connection trouble, 429 and 5xx (a refused token: 401/403) are raised.
    """
    store_dir.mkdir(parents=True, exist_ok=True)
    stored = 0
    delay = FIRST_DELAY
    last_message = time.monotonic()
    with MarketClient(base_url, token) as client:
        while stop_after is None or stored < stop_after:
            try:
                poll = client.poll(queue, max_per_poll)
                if poll is not None:
                    new = sum(store_message(store_dir, m) for m in poll.messages)
                    fsync_directory(store_dir)
                    status = acknowledge(client, queue, poll.poll_id)
                    log.info("poll %s: %d messages, %d new, %s", poll.poll_id,
                             len(poll.messages), new, status)
                    stored += new
                    last_message = time.monotonic()
                    delay = FIRST_DELAY
                    continue
            except httpx.HTTPError as error:
                if not retryable(error):
                    raise
                log.warning("%s; retrying in %.1f s", error, delay)
            if idle_exit_seconds is not None and \
                    time.monotonic() - last_message >= idle_exit_seconds:
                break
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
    return stored


def acknowledge(client: MarketClient, queue: str, poll_id: str) -> str:
    """Acknowledge a stored poll. A 404 (the queue no longer knows the poll, for instance
    because another of the actor's processes acknowledged a newer one) is harmless: whatever
    the poll held comes again and is de-duplicated."""
    try:
        return client.ack(queue, poll_id)
    except httpx.HTTPStatusError as error:
        if error.response.status_code != 404:
            raise
        return "unknown"


def main(argv: list[str]) -> int:
    """``python -m connectors.market_client BASE_URL TOKEN QUEUE STORE_DIR``"""
    if len(argv) != 4:
        print(main.__doc__, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    base_url, token, queue, store_dir = argv
    try:
        stored = run_poll_loop(base_url, token, queue, Path(store_dir))
    except KeyboardInterrupt:
        return 0
    print(f"{stored} new messages stored in {store_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
