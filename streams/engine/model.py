"""What the engine hands to processors and takes back from them: plain data, no Kafka.

Processors are pure over these types: given an :class:`Incoming` record and a
:class:`Context` (the clock and the task's tables), they return :class:`Output` records and
write their state changes to the tables. The engine does every bit of I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from streams.engine.state import Table, TableSpec
from streams.topics import TopicSpec


@dataclass(frozen=True, slots=True)
class Incoming:
    """One input record, as the processor sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    headers: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Output:
    """One record to write in the batch's transaction.

    ``create`` names a topic made on first use (an actor's queue): the engine creates it before
    the transaction when it does not exist yet. ``recipient`` is the market actor a queue
    message is for; the engine checks that the hub knows it.
    """

    topic: str
    key: bytes | None
    value: bytes | None  # None only for a table's tombstone
    partition: int | None = 0
    headers: tuple[tuple[str, bytes], ...] = ()
    create: TopicSpec | None = None
    recipient: str | None = None


@dataclass(frozen=True)
class Lookup:
    """An earlier input record of this task's partition that a processor needs, and what to
    do with it (``then`` gets None when the record is gone, e.g. after retention)."""

    topic: str
    offset: int
    then: Callable[[Incoming | None, Context], list[Output]]


@dataclass
class Context:
    """The task's view for one record: its clock, its partition and its tables."""

    now: datetime
    partition: int
    tables: Mapping[str, Table[Any]] = field(default_factory=dict)
    lookups: list[Lookup] = field(default_factory=list)

    def table(self, spec: TableSpec[Any]) -> Table[Any]:
        return self.tables[spec.name]

    def lookup(self, topic: str, offset: int,
               then: Callable[[Incoming | None, Context], list[Output]]) -> None:
        """Read ``topic``'s record at ``offset`` in this partition, then call ``then`` with it;
        its outputs join the same transaction."""
        self.lookups.append(Lookup(topic, offset, then))


class Handler(Protocol):
    """A processor for one input topic."""

    name: str

    def handle(self, record: Incoming, ctx: Context) -> list[Output]:
        """Outputs for one record; state changes go to ``ctx``'s tables. May raise: the
        engine then undoes the record's state changes and sends it to the dead-letter topic."""
        ...

    def reject(self, record: Incoming, reason: str, ctx: Context) -> list[Output]:
        """What the sender is told when its record cannot be processed (may be nothing)."""
        ...


class Timer(Protocol):
    """Work a task does on a schedule, whether or not records arrive (e.g. contract expiry)."""

    name: str
    interval_s: float

    def fire(self, ctx: Context) -> list[Output]:
        ...


@dataclass(frozen=True)
class Topology:
    """Everything a task runs: handlers by input topic, tables, timers.

    ``priority`` orders records of different topics that carry the same timestamp (master
    data before the values it routes). ``transactional_inputs`` are input topics processors
    write to in their transactions, whose offsets skip over commit markers.
    """

    handlers: Mapping[str, Handler]
    tables: Sequence[TableSpec[Any]]
    timers: Sequence[Timer] = ()
    priority: Mapping[str, int] = field(default_factory=dict)
    transactional_inputs: frozenset[str] = frozenset()

    @property
    def input_topics(self) -> list[str]:
        return sorted(self.handlers)
