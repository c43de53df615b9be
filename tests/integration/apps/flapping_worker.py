"""A Faust worker on straum's transport for tests/integration/test_gapless_consumer.py.

Every record its agent handles is appended to a file as ``partition offset``. With ``flap``,
its partitions are paused and resumed every 20–200 ms (Faust pauses partitions itself during
recovery and under back-pressure), so that batches are cut short often; with ``steady`` they
are not, and the agent takes 2 ms per record so that a backlog is always in flight.

Arguments: bootstrap, topic, consumer group, output file, ``flap`` or ``steady``, and
optionally the transport scheme (``straum``, or ``aiokafka`` for Faust's own).
"""

from __future__ import annotations

import asyncio
import random
import sys
from typing import Any

import faust
from faust import Worker

from straum.logging import configure_logging

bootstrap, topic_name, group, output, mode = sys.argv[1:6]
scheme = sys.argv[6] if len(sys.argv) > 6 else "straum"
configure_logging("flapping-worker", "INFO")
app = faust.App(group, broker=f"{scheme}://{bootstrap}", web_enabled=False,
                broker_session_timeout=10, broker_heartbeat_interval=1,
                broker_max_poll_records=50, stream_buffer_maxsize=100,
                broker_commit_every=50, broker_commit_interval=0.5)
topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw")
handled = open(output, "a", buffering=1)  # noqa: SIM115  open for the worker's lifetime
# A table, so that every rebalance has Faust recover state before the streams resume (the
# moment the chaos runs lost records at).
last_offsets = app.Table("last-offsets", default=int, partitions=3)


@app.agent(topic)  # type: ignore[untyped-decorator]
async def record_offsets(stream: Any) -> None:
    async for event in stream.events():
        handled.write(f"{event.message.partition} {event.message.offset}\n")
        last_offsets[event.key] = event.message.offset
        if mode == "steady":
            await asyncio.sleep(0.002)


@app.task  # type: ignore[untyped-decorator]
async def flap_partitions() -> None:
    rnd = random.Random(1)
    while mode == "flap":
        await asyncio.sleep(rnd.uniform(0.02, 0.2))
        partitions = {tp for tp in app.consumer.assignment() if tp.topic == topic_name}
        if not partitions:
            continue
        app.consumer.pause_partitions(partitions)
        await asyncio.sleep(rnd.uniform(0.0, 0.02))
        app.consumer.resume_partitions(partitions)


if __name__ == "__main__":
    Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False,
           override_logging=False).execute_from_commandline()
