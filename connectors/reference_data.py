"""Reference data in Kafka: SSB's næringskode lists, imported once, read by every worker."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from connectors.compacted import CompactedView
from domain.industry_codes import CodeLists
from schemas.settings import Settings
from streams.records import industry_codes as code_list_records
from streams.topics import TopicCatalogue

INDUSTRY_CODES_KEY = "industry-codes"


async def publish_code_lists(settings: Settings, producer: AIOKafkaProducer, lists: CodeLists,
                             source: str) -> None:
    catalogue = TopicCatalogue.from_settings(settings)
    value = code_list_records.encode(lists, source, datetime.now(UTC))
    await producer.send_and_wait(catalogue.reference_data, value,
                                 key=INDUSTRY_CODES_KEY.encode(), partition=0)


class ReferenceData:
    """The imported reference data, followed as it is re-imported."""

    def __init__(self, settings: Settings) -> None:
        self._view = CompactedView(settings, TopicCatalogue.from_settings(settings)
                                   .reference_data, code_list_records.decode)

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    def industry_codes(self) -> CodeLists | None:
        return self._view.values.get(INDUSTRY_CODES_KEY)
