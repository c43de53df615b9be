"""straum's stream engine: co-partitioned tasks, each a transactional batch loop on aiokafka.

A task owns partition *p* of every input topic and of every table's changelog. It reads a batch,
hands each record to its processor (pure handlers in :mod:`processors`), and commits the
batch's outputs, its state changes and its input offsets in one Kafka transaction. See
docs/ARCHITECTURE.md ("The engine").
"""

from streams.engine.model import Context, Handler, Incoming, Lookup, Output, Timer, Topology
from streams.engine.state import Table, TableSpec

__all__ = ["Context", "Handler", "Incoming", "Lookup", "Output", "Table", "TableSpec", "Timer",
           "Topology"]
