"""Faust's aiokafka transport, hardened so that straum neither loses nor skips a record.

Two changes to faust-streaming's aiokafka driver, registered as the ``straum://`` broker scheme
through the ``faust.transports`` entry point:

* :class:`DurableProducer`: Faust only turns on ``acks=all`` and idempotence inside
  transactions; straum runs at-least-once without transactions (see docs/ARCHITECTURE.md) and
  wants both always.
* :class:`GaplessConsumer`: Faust drops records it has fetched when a partition is paused, the
  flow stops or the generation changes while a batch is being handed out (faust-streaming
  0.15.3, ``Consumer.getmany``). aiokafka has already moved its position past them, so the next
  fetch starts after them; Faust then sees a hole in the offsets, books it as a "gap" and
  commits over it: the records are never processed (issues #216 and #221 upstream, and the
  losses in docs/RELIABILITY.md). This consumer seeks a partition back to the first offset it
  has not handed out whenever that happens, so the records are fetched again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from typing import Any

import structlog
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from prometheus_client import Counter

log = structlog.get_logger(__name__)

REWINDS = Counter(
    "straum_consumer_rewinds_total",
    "Partitions sought back because fetched records were dropped or offsets jumped",
    ["topic", "reason"],
)
GAPS_ACCEPTED = Counter(
    "straum_consumer_offset_gaps_accepted_total",
    "Offset holes accepted as real (compaction, retention) after repeated rewinds",
    ["topic"],
)

#: How often a partition is sought back to the same offset before a hole at it is taken as real:
#: a compacted or transactional topic, or records deleted by retention, has offsets that will
#: never come however often they are fetched.
REWINDS_BEFORE_ACCEPTING_GAP = 3


class DurableProducer(faust_aiokafka.Producer):  # type: ignore[misc]
    """Faust producer with acks from all in-sync replicas and idempotent retries."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


class GaplessConsumer(faust_aiokafka.Consumer):  # type: ignore[misc]
    """Faust consumer that hands out every offset of an acknowledged topic, in order.

    ``_next_offset`` is the offset each partition must hand out next: set by every seek,
    advanced by every record handed out. A record beyond it, or a fetched record that Faust did
    not hand out, sends the partition back to it. Only topics whose records are acknowledged
    (the agents' sources) are guarded; table changelogs are compacted and have real holes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset = _ReadOffsets(self)
        self._seeking = False
        self._next_offset: dict[TP, int] = {}
        self._fetched: dict[TP, tuple[int, int]] = {}
        self._rewind_attempts: dict[TP, tuple[int, int]] = {}

    async def _getmany(self, active_partitions: set[TP] | None,
                       timeout: float) -> Any:  # noqa: ASYNC109  Faust's signature
        records = await super()._getmany(active_partitions, timeout)
        self._fetched = {tp: (batch[0].offset, batch[-1].offset)
                         for tp, batch in (records or {}).items() if batch}
        return records

    async def getmany(self, timeout: float,  # noqa: ASYNC109  Faust's signature
                      ) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's batch, minus any record beyond a hole; then rewind what was not handed out."""
        self._fetched = {}
        handed_out: dict[TP, int] = {}
        rewound: set[TP] = set()
        async for tp, message in super().getmany(timeout):
            if tp in rewound:
                continue
            if self._guarded(tp):
                expected = self._next_offset.get(tp)
                if (expected is not None and message.offset > expected
                        and not await self._rewind_or_accept(tp, expected, message.offset)):
                    rewound.add(tp)
                    continue
                if expected is not None:
                    # What Faust's drain loop compares with: the offset before this one (or
                    # before the hole it accepts), never a stale value; see _ReadOffsets.
                    dict.__setitem__(self._read_offset, tp, expected - 1)
                self._next_offset[tp] = message.offset + 1
                handed_out[tp] = message.offset
                if tp in self._rewind_attempts and self._rewind_attempts[tp][0] <= message.offset:
                    del self._rewind_attempts[tp]  # the records came: it was no real hole
            yield tp, message
        await self._rewind_dropped(handed_out, rewound)

    async def _rewind_dropped(self, handed_out: Mapping[TP, int], rewound: set[TP]) -> None:
        """Seek back every partition whose fetched records were not all handed out.

        While the flow is stopped a rebalance is under way and Faust seeks every partition to
        its committed offset before it resumes, so nothing is to be done then.
        """
        if not self.flow_active:
            return
        for tp, (first, last) in self._fetched.items():
            if tp in rewound or not self._guarded(tp):
                continue
            if handed_out.get(tp, first - 1) >= last:
                continue
            target = self._next_offset.get(tp, first)
            await self._rewind(tp, target, reason="dropped")

    async def _rewind_or_accept(self, tp: TP, expected: int, got: int) -> bool:
        """Rewind to ``expected``; True once that hole was fetched over often enough to be real."""
        target, attempts = self._rewind_attempts.get(tp, (expected, 0))
        if target == expected and attempts >= REWINDS_BEFORE_ACCEPTING_GAP:
            self._rewind_attempts.pop(tp, None)
            GAPS_ACCEPTED.labels(topic=tp.topic).inc()
            log.warning("consumer.offset_gap_accepted", topic=tp.topic, partition=tp.partition,
                        missing_from=expected, next_offset=got)
            return True
        self._rewind_attempts[tp] = (expected, attempts + 1 if target == expected else 1)
        await self._rewind(tp, expected, reason="offset_jump", seen=got)
        return False

    async def _rewind(self, tp: TP, offset: int, *, reason: str, seen: int | None = None) -> None:
        if tp not in self.assignment():
            return  # revoked meanwhile: its next owner starts from the committed offset
        REWINDS.labels(topic=tp.topic, reason=reason).inc()
        log.warning("consumer.rewind", topic=tp.topic, partition=tp.partition, offset=offset,
                    reason=reason, seen=seen)
        await self._thread.call_thread(self._seek_in_consumer_thread, tp, offset)
        self._next_offset[tp] = offset

    async def _seek_in_consumer_thread(self, tp: TP, offset: int) -> None:
        # aiokafka's consumer lives on the consumer thread's event loop; seek it from there.
        self._thread.seek(tp, offset)

    async def seek(self, partition: TP, offset: int) -> None:
        self._seeking = True
        try:
            await super().seek(partition, offset)
        finally:
            self._seeking = False
        self._next_offset[partition] = offset

    async def perform_seek(self) -> None:
        self._seeking = True
        try:
            await super().perform_seek()
        finally:
            self._seeking = False
        for tp, offset in self._read_offset.items():
            if offset is not None:
                self._next_offset[tp] = offset
            else:
                self._next_offset.pop(tp, None)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            self._next_offset.pop(tp, None)
            self._rewind_attempts.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    def _guarded(self, tp: TP) -> bool:
        return bool(self.app.topics.acks_enabled_for(tp.topic))

    def stale_read_offset(self, tp: TP, offset: int | None) -> bool:
        """Whether Faust is recording as read a record handed out before the latest seek."""
        if self._seeking or offset is None or not self._guarded(tp):
            return False
        next_offset = self._next_offset.get(tp)
        return next_offset is not None and offset >= next_offset


class _ReadOffsets(defaultdict[TP, int | None]):
    """Faust's last-read offset per partition, refusing stale writes.

    Faust's drain loop hands a record to the streams and, once that returns, records its offset
    as read. The hand-over can wait on flow control across a whole rebalance; when it returns,
    the offset it records is older than the seek made meanwhile, and the drain loop then drops
    every re-fetched record below it as already read (the chaos harness lost 130 series this
    way with the rest of this consumer in place). Such a write is refused.
    """

    def __init__(self, consumer: GaplessConsumer) -> None:
        super().__init__(lambda: None)
        self._consumer = consumer

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        if self._consumer.stale_read_offset(tp, offset):
            log.warning("consumer.stale_read_offset_ignored", topic=tp.topic,
                        partition=tp.partition, offset=offset,
                        next_offset=self._consumer._next_offset.get(tp))
            return
        super().__setitem__(tp, offset)


class Transport(faust_aiokafka.Transport):  # type: ignore[misc]
    """aiokafka transport using :class:`DurableProducer` and :class:`GaplessConsumer`."""

    Producer = DurableProducer
    Consumer = GaplessConsumer
