"""The metering-value forwarder: intake series → the sender's acknowledgement and one
notification per responsible actor, in their queues, each series once.

Routing uses the point's state at the time of the values (the metering-points table of the same
partition) and what was already forwarded for the point (the series-versions table). The
engine commits the queue records and the new history in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter

from domain.forwarding import NOTIFY_VALUES, forward
from domain.messages import Outbound, not_processed
from processors.outputs import heartbeat_through, is_heartbeat, queue_outputs
from processors.point_values import remember_values
from processors.shared_production import Emit, participant_outputs
from processors.tables import Tables
from streams.engine import Context, Incoming, Output
from streams.logging import get_logger
from streams.records import series as intake_series
from streams.records.series import Series
from streams.topics import TopicCatalogue

log = get_logger(__name__)
SERIES = Counter("straum_forwarder_series_total", "Series handled by the forwarder",
                 ["outcome"])
_SERIES_BY_OUTCOME = {o: SERIES.labels(o) for o in ("forwarded", "correction", "duplicate",
                                                    "rejected")}


class Forwarder:
    """Handler of the metering-values intake topic."""

    name = "forwarder"

    def __init__(self, catalogue: TopicCatalogue, tables: Tables, history_days: int) -> None:
        self.catalogue = catalogue
        self.tables = tables
        self.history_days = history_days
        self.emit = Emit(catalogue)
        self._decode = intake_series.decode

    def handle(self, record: Incoming, ctx: Context) -> list[Output]:
        if is_heartbeat(record):
            return [heartbeat_through(self.catalogue, record, ctx.now)]
        series = self._decode(record.value)
        key = series["meteringPointId"].encode()
        versions = ctx.table(self.tables.series_versions)
        point = ctx.table(self.tables.metering_points).get(key)
        result = forward(point, series, ctx.now, versions.get(key) or [], self.history_days,
                         record.offset)
        if result.history is not None:
            versions.put(key, result.history)
            remember_values(ctx.table(self.tables.point_values), series,
                            result.history[-1].version)
        shared = participant_outputs(
            self.emit, ctx.table(self.tables.memberships).get(key), series) \
            if result.outcome in ("forwarded", "correction") else []
        _SERIES_BY_OUTCOME[result.outcome].inc()
        if result.outcome != "forwarded":
            log.info("series not simply forwarded", outcome=result.outcome,
                     message_id=series["messageId"], transaction_id=series["transactionId"],
                     metering_point=series["meteringPointId"], actor=series["sender"])
        return [*queue_outputs(self.catalogue, result.messages), *shared]

    def reject(self, record: Incoming, reason: str, ctx: Context) -> list[Output]:
        """The sender's rejection of a series that could not be processed."""
        if is_heartbeat(record):
            return []
        series = self._decode(record.value)
        return queue_outputs(self.catalogue, [rejection(series, reason, ctx.now)])


def rejection(series: Series, reason: str, now: datetime) -> Outbound:
    """An acknowledgement that rejects ``series`` because it could not be processed."""
    return not_processed(original_message_id=series["messageId"],
                         original_document_type=NOTIFY_VALUES, sender=series["sender"],
                         reason=reason, created_at=now,
                         metering_point_id=series["meteringPointId"],
                         transaction_id=series["transactionId"])
