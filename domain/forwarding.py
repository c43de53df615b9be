"""What one accepted series of metering values turns into: an acknowledgement to the sender
and a ``NotifyValidatedDataForBillingEnergy`` per recipient and part."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.messages import (
    METERING_VALUES,
    Outbound,
    acknowledgement,
    outbound_message_id,
)
from domain.metering_point import MeteringPoint
from domain.routing import check_series_against_point, route_series
from domain.versions import Verdict

FIRST_VERSION = Verdict(duplicate=False, version=1)

NOTIFY_VALUES = "NotifyValidatedDataForBillingEnergy"


def forward_series(point: MeteringPoint | None, series: dict[str, Any], now: datetime,
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
    messages = [ack]
    for delivery in route_series(point, series["start"], series["end"], series["resolution"]):
        messages.append(Outbound(
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
        ))
    return messages
