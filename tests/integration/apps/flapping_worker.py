"""A Faust worker on straum's transport whose partitions are paused and resumed all the time.

Faust pauses partitions itself during recovery and under back-pressure; this worker does it
every 20–200 ms so that batches are cut short often. Every record its agent handles is written
to a file as ``partition offset``. Used by tests/integration/test_gapless_consumer.py.

Arguments: bootstrap, topic, consumer group, output file.
"""

from __future__ import annotations

import asyncio
import random
import sys
from typing import Any

import faust
from faust import Worker

from straum.logging import configure_logging

bootstrap, topic_name, group, output = sys.argv[1:5]
configure_logging("flapping-worker", "INFO")
app = faust.App(group, broker=f"straum://{bootstrap}", web_enabled=False,
                broker_max_poll_records=50, stream_buffer_maxsize=100,
                broker_commit_every=50, broker_commit_interval=0.5)
topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw")
handled = open(output, "a", buffering=1)  # noqa: SIM115  open for the worker's lifetime


@app.agent(topic)  # type: ignore[untyped-decorator]
async def record_offsets(stream: Any) -> None:
    async for event in stream.events():
        handled.write(f"{event.message.partition} {event.message.offset}\n")


@app.task  # type: ignore[untyped-decorator]
async def flap_partitions() -> None:
    rnd = random.Random(1)
    while True:
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
