"""The monitor process: reads the broker, apart from the processors it watches.

For now it measures consumer lag of the processors' group per partition (log-end offset minus
committed offset) and exports it as Prometheus gauges; alert rules and the ops page build on it
(issue 7). When the broker cannot be read it says so and exports no lag, never zero.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Gauge, start_http_server

from connectors.kafka import admin_client, resolve_bootstrap, security_kwargs
from straum.logging import configure_logging, get_logger
from straum.settings import Settings

log = get_logger(__name__)

LAG = Gauge("straum_consumergroup_lag", "Committed-offset lag in messages",
            ["group", "topic", "partition"])
UP = Gauge("straum_monitor_broker_up", "1 when the monitor could read the broker")
LAST_POLL = Gauge("straum_monitor_last_poll_timestamp_seconds", "When the monitor last read")


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    log_end: int

    @property
    def lag(self) -> int:
        return self.log_end - (self.committed or 0)


async def read_lag(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer,
                   group: str) -> list[PartitionLag]:
    """Lag of every partition the group has committed offsets for."""
    committed = await admin.list_consumer_group_offsets(group)
    tps = list(committed)
    if not tps:
        return []
    ends = await consumer.end_offsets(tps)
    return [PartitionLag(group, tp.topic, tp.partition, committed[tp].offset, ends[tp])
            for tp in sorted(tps)]


async def monitor_loop(settings: Settings, interval: float) -> None:
    group = settings.topic_prefix
    while True:
        admin = admin_client(settings, "straum-monitor")
        consumer = AIOKafkaConsumer(bootstrap_servers=resolve_bootstrap(settings),
                                    client_id="straum-monitor", enable_auto_commit=False,
                                    **security_kwargs(settings))
        try:
            await admin.start()
            await consumer.start()
            while True:
                lags = await read_lag(admin, consumer, group)
                LAG.clear()
                for p in lags:
                    LAG.labels(p.group, p.topic, str(p.partition)).set(p.lag)
                UP.set(1)
                LAST_POLL.set(time.time())
                log.info("lag", group=group, total=sum(p.lag for p in lags),
                         partitions=len(lags))
                await asyncio.sleep(interval)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # broker unreachable: say so, export no lag
            UP.set(0)
            LAG.clear()
            log.warning("monitor cannot read the broker", error=str(exc))
            await asyncio.sleep(interval)
        finally:
            await consumer.stop()
            await admin.close()


def run_monitor(settings: Settings, metrics_port: int | None, interval: float = 10.0) -> None:
    configure_logging("monitor", settings.log_level)
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1")
    asyncio.run(monitor_loop(settings, interval))
