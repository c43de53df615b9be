"""A master-data document as taken in (Avro ``MasterDataEvent``): who sent it, for which
metering point, and the document itself, one of the record union's members."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, TypedDict

from streams.records.typed import TypedRecord
from streams.serialisation import MASTER_DATA_EVENT, codec

#: The Avro namespace of the documents' union members.
DOCUMENT_NS: Final = "no.straum.masterdata."


class MasterDataEvent(TypedDict):
    """``document`` is (full record name, fields): the branch is known, never guessed."""

    messageId: str
    sender: str
    senderRole: str
    receivedAt: datetime
    meteringPointId: str
    document: tuple[str, dict[str, Any]]


def document_kind(event: MasterDataEvent) -> str:
    """The document's record name without its namespace (``StartOfSupply``, …)."""
    return event["document"][0].rsplit(".", 1)[-1]


def encode(*, message_id: str, sender: str, sender_role: str, received_at: datetime,
           metering_point_id: str, document_type: str, document: dict[str, Any]) -> bytes:
    """The record of one document; ``document_type`` is its record name (``MoveIn``, …)."""
    return codec(MASTER_DATA_EVENT).encode({
        "messageId": message_id, "sender": sender, "senderRole": sender_role,
        "receivedAt": received_at, "meteringPointId": metering_point_id,
        "document": (DOCUMENT_NS + document_type, document)})


#: ``encode_event``: the record of a whole event (tests and tools that build one).
_EVENT = TypedRecord[MasterDataEvent](MASTER_DATA_EVENT)
encode_event, decode = _EVENT.encode, _EVENT.decode
