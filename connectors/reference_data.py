"""Reference data in Kafka: SSB's næringskode lists, imported once, read by every worker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from connectors.compacted import CompactedView
from domain.industry_codes import CodeLists, IndustryCode
from schemas.settings import Settings
from streams.serialisation import INDUSTRY_CODE_LISTS, codec
from streams.topics import TopicCatalogue

INDUSTRY_CODES_KEY = "industry-codes"


def encode_code_lists(lists: CodeLists, source: str) -> bytes:
    codes = [item for table in (lists.sn2007, lists.sn2025) for items in table.values()
             for item in items]
    return codec(INDUSTRY_CODE_LISTS).encode({
        "source": source, "importedAt": datetime.now(UTC),
        "codes": [{"code": c.code, "name": c.name, "version": c.version,
                   "validFrom": c.valid_from, "validTo": c.valid_to} for c in codes],
        "correspondence": [{"sn2007": k, "sn2025": list(v)}
                           for k, v in lists.correspondence.items()]})


def decode_code_lists(value: bytes) -> CodeLists:
    r: dict[str, Any] = codec(INDUSTRY_CODE_LISTS).decode(value)
    codes = [IndustryCode(c["code"], c["name"], c["version"], c["validFrom"], c["validTo"])
             for c in r["codes"]]
    return CodeLists.build([c for c in codes if c.version == "SN2007"],
                           [c for c in codes if c.version == "SN2025"],
                           {c["sn2007"]: c["sn2025"] for c in r["correspondence"]})


async def publish_code_lists(settings: Settings, producer: AIOKafkaProducer, lists: CodeLists,
                             source: str) -> None:
    catalogue = TopicCatalogue.from_settings(settings)
    await producer.send_and_wait(catalogue.reference_data, encode_code_lists(lists, source),
                                 key=INDUSTRY_CODES_KEY.encode(), partition=0)


class ReferenceData:
    """The imported reference data, followed as it is re-imported."""

    def __init__(self, settings: Settings) -> None:
        self._view = CompactedView(settings, TopicCatalogue.from_settings(settings)
                                   .reference_data, decode_code_lists)

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    def industry_codes(self) -> CodeLists | None:
        return self._view.values.get(INDUSTRY_CODES_KEY)
