"""What one accepted series of metering values turns into: an acknowledgement to the sender
and a ``NotifyValidatedDataForBillingEnergy`` per recipient and part."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from domain.messages import (
    METERING_VALUES,
    Outbound,
    acknowledgement,
    outbound_message_id,
)
from domain.metering_point import MeteringPoint
from domain.routing import Delivery, check_series_against_point, newly_routed, route_series
from domain.versions import (
    SeriesVersion,
    Verdict,
    content_hash,
    epoch_ms,
    judge,
    remember,
)

FIRST_VERSION = Verdict(duplicate=False, version=1)

Outcome = Literal["forwarded", "correction", "duplicate", "rejected"]

NOTIFY_VALUES = "NotifyValidatedDataForBillingEnergy"


def forward_series(point: MeteringPoint | None, series: Mapping[str, Any], now: datetime,
                   verdict: Verdict = FIRST_VERSION) -> list[Outbound]:
    """Messages for one intake series record (Avro ``MeteringValueSeries``).

    The sender always gets its acknowledgement; a duplicate (``verdict``) is not forwarded
    again, and a correction is forwarded with its version and marked.
    """
    reasons = check_series_against_point(point, series["sender"], series["resolution"],
                                         series["start"])
    ack = acknowledgement(
        original_message_id=series["messageId"], original_document_type=NOTIFY_VALUES,
        sender=series["sender"], reasons=reasons, created_at=now,
        metering_point_id=series["meteringPointId"], transaction_id=series["transactionId"])
    if reasons or point is None or verdict.duplicate:
        return [ack]
    return [ack, *(value_message(series, delivery, verdict, now)
                   for delivery in route_series(point, series["start"], series["end"],
                                                series["resolution"]))]


def value_message(series: Mapping[str, Any], delivery: Delivery, verdict: Verdict,
                  now: datetime) -> Outbound:
    """The notification of one delivery of a series, with its stable message id."""
    return Outbound(
        message_id=outbound_message_id(series["transactionId"], delivery.recipient,
                                       NOTIFY_VALUES, delivery.part),
        recipient=delivery.recipient,
        queue=METERING_VALUES,
        document_type=NOTIFY_VALUES,
        payload_type=NOTIFY_VALUES,
        payload={
            "transactionId": series["transactionId"],
            "originalMessageId": series["messageId"],
            "meteringPointId": series["meteringPointId"],
            "start": delivery.start,
            "end": delivery.stop,
            "resolution": series["resolution"],
            "unit": series["unit"],
            "registeredAt": series["receivedAt"],
            "recipientRole": delivery.role,
            "version": verdict.version,
            "correction": verdict.correction,
            "quantities": series["quantities"][delivery.first:delivery.end],
            "qualities": series["qualities"][delivery.first:delivery.end],
        },
        created_at=now,
    )


def reroute_series(before: MeteringPoint | None, after: MeteringPoint, series: Mapping[str, Any],
                   version: int, now: datetime) -> list[Outbound]:
    """The notifications a change of supply or access adds for a series already forwarded.

    Values and master data come in on different topics; whichever is processed first, each
    recipient of the time of the values gets them, under the message id it would have had.
    A recipient that got them before the change keeps what it got.
    """
    verdict = Verdict(duplicate=False, version=version)
    return [value_message(series, delivery, verdict, now)
            for delivery in newly_routed(before, after, series["start"], series["end"],
                                         series["resolution"])]


@dataclass(frozen=True)
class ForwardResult:
    """What one intake series came to: the messages, how it was judged, and the point's
    forwarded-series history after it (None when nothing was forwarded, so nothing changes)."""

    messages: list[Outbound]
    outcome: Outcome
    history: list[SeriesVersion] | None


def forward(point: MeteringPoint | None, series: Mapping[str, Any], now: datetime,
            history: list[SeriesVersion], window_days: int, offset: int = -1
            ) -> ForwardResult:
    """Judge a series against what was forwarded for its point, then route it.

    A resend or the same values again is a duplicate (acknowledged, not forwarded); new values
    for a period already forwarded go out as the next version, marked as a correction. The
    history remembers where the series lies in the intake (``offset``), so a later change of
    supply or access can send it to the recipients it adds.
    """
    digest = content_hash(series["start"], series["end"], series["resolution"],
                          series["quantities"], series["qualities"])
    verdict = judge(history, series["transactionId"], series["start"], series["end"], digest)
    messages = forward_series(point, series, now, verdict)
    rejected = point is None or messages[0].payload["status"] == "rejected"
    if rejected:
        return ForwardResult(messages, "rejected", None)
    if verdict.duplicate:
        return ForwardResult(messages, "duplicate", None)
    entry = SeriesVersion(epoch_ms(series["start"]), epoch_ms(series["end"]),
                          series["transactionId"], digest, verdict.version, offset)
    return ForwardResult(messages, "correction" if verdict.correction else "forwarded",
                         remember(history, entry, now, window_days))
