"""The Kafka client's repeated lines are capped, and what was held back is counted."""

from __future__ import annotations

import logging

from streams.logging import RepeatLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def line(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_reconnect_storm_shows_once_per_window_and_then_counts_what_it_held() -> None:
    clock = Clock()
    limit = RepeatLimit(window_s=10, clock=clock)
    passed = [limit.filter(line("aiokafka.client", "Unable connect to node with id %s: %s",
                                n % 3, "refused")) for n in range(1000)]
    assert passed.count(True) == 1 and passed[0]

    clock.now += 10
    after = line("aiokafka.client", "Unable connect to node with id %s: %s", 1, "refused")
    assert limit.filter(after)
    assert after.getMessage() == ("Unable connect to node with id 1: refused "
                                  "(999 more like it in the last 10 s)")


def test_another_kind_of_line_and_straums_own_lines_are_never_held() -> None:
    limit = RepeatLimit(window_s=10, clock=Clock())
    assert limit.filter(line("aiokafka.client", "Unable connect to node with id %s", 1))
    assert limit.filter(line("aiokafka.producer.sender", "Got error produce response: %s", "x"))
    assert limit.filter(line("aiokafka.client", "Unable connect to node with id %s", 1,
                             level=logging.WARNING))
    assert all(limit.filter(line("connectors.http.queues", "poll failed")) for _ in range(50))
