"""Where an actor's queue stands (domain.queue_positions.QueuePosition) as the Avro
``QueuePosition`` record, keyed ``actor|queue``."""

from __future__ import annotations

from datetime import datetime

from domain.queue_positions import QueuePosition
from streams.serialisation import QUEUE_POSITION, codec


def encode(position: QueuePosition, updated_at: datetime) -> bytes:
    return codec(QUEUE_POSITION).encode({
        "ackedOffset": position.acked_offset, "pollId": position.poll_id,
        "pollFrom": position.poll_from, "pollTo": position.poll_to,
        "lastAckedPollId": position.last_acked_poll_id,
        "recentlyAckedPollIds": list(position.recently_acked), "updatedAt": updated_at})


def decode(raw: bytes | None) -> QueuePosition:
    r = codec(QUEUE_POSITION).decode(raw)
    return QueuePosition(acked_offset=r["ackedOffset"], poll_id=r["pollId"],
                         poll_from=r["pollFrom"], poll_to=r["pollTo"],
                         last_acked_poll_id=r["lastAckedPollId"],
                         recently_acked=tuple(r["recentlyAckedPollIds"]))
