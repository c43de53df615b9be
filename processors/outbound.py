"""Turning domain messages into records on the outbound topic."""

from __future__ import annotations

from domain.messages import Outbound
from processors.output import Record
from streams.app import catalogue
from streams.serialisation import QUEUE_MESSAGE, codec


def outbound_records(messages: list[Outbound]) -> list[Record]:
    """Outbound-topic records keyed by recipient and queue, so one queue stays in order."""
    encode = codec(QUEUE_MESSAGE).encode
    return [
        Record(catalogue.outbound, f"{m.recipient}|{m.queue}".encode(), encode(m.to_record()))
        for m in messages
    ]
