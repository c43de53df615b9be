"""The Faust application every worker runs: one app, its topics and its tables.

Values are raw bytes on the Faust side; the processors decode them with
:mod:`streams.serialisation` themselves, so that an undecodable record becomes a dead letter
instead of an exception inside Faust's stream machinery.
"""

from __future__ import annotations

import ssl
from typing import Any

import faust

from connectors.kafka import resolve_bootstrap
from straum.settings import Settings, get_settings
from streams.topics import TopicCatalogue


def create_app(settings: Settings) -> Any:
    """A Faust app configured from the settings (at-least-once, durable producer)."""
    broker = ";".join(f"straum://{host}" for host in resolve_bootstrap(settings).split(","))
    return faust.App(
        settings.topic_prefix,
        broker=broker,
        broker_credentials=faust_credentials(settings),
        datadir=str(settings.data_dir / "faust"),  # not "<app id>-data" in the working dir
        store="memory://",
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=False,
        topic_disable_leader=True,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        web_enabled=False,
        table_standby_replicas=0,
        stream_wait_empty=False,
        logging_config=None,
    )


def faust_credentials(settings: Settings) -> Any:
    """TLS/SASL for Faust's own clients, from the same settings as every other client."""
    protocol = settings.kafka_security_protocol
    ssl_context = None
    if "SSL" in protocol:
        ssl_context = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)
    if settings.kafka_sasl_mechanism:
        return faust.SASLCredentials(username=settings.kafka_sasl_username,
                                     password=settings.kafka_sasl_password,
                                     mechanism=settings.kafka_sasl_mechanism.upper(),
                                     ssl_context=ssl_context)
    return faust.SSLCredentials(ssl_context) if ssl_context else None


settings = get_settings()
catalogue = TopicCatalogue.from_settings(settings)
app = create_app(settings)


def byte_topic(name: str) -> faust.TopicT:
    """A source topic of raw bytes: straum decodes its Avro itself (streams/serialisation.py)."""
    return app.topic(name, key_type=bytes, value_type=bytes)


metering_values_topic = byte_topic(catalogue.metering_values)
master_data_topic = byte_topic(catalogue.master_data)
outbound_topic = byte_topic(catalogue.outbound)
contract_commands_topic = byte_topic(catalogue.contract_commands)

metering_points = app.Table(
    "metering-points",
    default=None,
    key_type=bytes,
    value_type=bytes,
    partitions=settings.partitions,
    help="MeteringPointState (Avro) per metering point id: routing state, kept over time.",
)


class BatchWrittenTable(faust.Table):  # type: ignore[misc]
    """A table written after a batch, outside Faust's per-event context: the writer names the
    partition, which is the source event's (the table is co-partitioned with its input)."""

    _partition: int | None = None

    def partition_for_key(self, key: Any) -> int | None:
        return self._partition if self._partition is not None else super().partition_for_key(key)

    def set_in_partition(self, key: bytes, value: bytes, partition: int) -> None:
        self._partition = partition
        try:
            self[key] = value
        finally:
            self._partition = None


def batch_written_table(name: str, help_text: str) -> BatchWrittenTable:
    """A co-partitioned table of Avro bytes per metering point, written after each batch."""
    table: BatchWrittenTable = app.tables.add(BatchWrittenTable(
        app, name=name, default=None, key_type=bytes, value_type=bytes,
        partitions=settings.partitions, help=help_text))
    return table


series_versions = batch_written_table(
    "series-versions",
    "SeriesHistory (Avro) per metering point: what was forwarded, for de-duplication.")
contracts_table = batch_written_table(
    "contracts", "ContractSet (Avro) per metering point: its Norgespris contracts.")
