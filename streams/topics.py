"""The topic catalogue: every topic straum uses, with its layout, in one place.

Input topics (intake of metering values and master data) and the master-data table's changelog
share one partition count and are keyed by metering point id, so one worker holds a point's
values and its state together (co-partitioning). Actor queues are one single-partition topic per
(actor, queue): an actor's messages stay contiguous and in order, and the actor's acknowledged
position is a plain offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from schemas.settings import Settings

DAY_MS = 24 * 60 * 60 * 1000


class Queue(StrEnum):
    """The two queues every market actor polls (names as in the HTTP paths)."""

    METERING_VALUES = "metering-values"
    MARKET_PROCESSES = "market-processes"


@dataclass(frozen=True)
class TopicSpec:
    """Name and layout of one topic; created idempotently at start-up."""

    name: str
    partitions: int
    replication: int
    retention_ms: int | None = None  # None: the broker's default; -1: forever
    compacted: bool = False
    purpose: str = ""

    def config(self) -> dict[str, str]:
        """Topic-level configuration for CreateTopics."""
        cfg: dict[str, str] = {}
        if self.compacted:
            cfg["cleanup.policy"] = "compact" if self.retention_ms is None else "compact,delete"
        if self.retention_ms is not None:
            cfg["retention.ms"] = str(self.retention_ms)
        if self.replication > 1:
            cfg["min.insync.replicas"] = str(min(2, self.replication))
        return cfg


@dataclass(frozen=True)
class TopicCatalogue:
    """Topic names and specs derived from the settings (prefix, partitions, replication)."""

    prefix: str
    partitions: int
    replication: int
    queue_retention_days: int
    duplicate_window_days: int = 7

    @classmethod
    def from_settings(cls, settings: Settings) -> TopicCatalogue:
        return cls(
            prefix=settings.topic_prefix,
            partitions=settings.partitions,
            replication=settings.replication_factor,
            queue_retention_days=settings.queue_retention_days,
            duplicate_window_days=settings.duplicate_window_days,
        )

    def _n(self, suffix: str) -> str:
        return f"{self.prefix}.{suffix}"

    @property
    def metering_values(self) -> str:
        """Accepted series of metering values, keyed by metering point (the stored intake)."""
        return self._n("metering-values.intake")

    @property
    def master_data(self) -> str:
        """Accepted master-data documents (BRS), keyed by metering point."""
        return self._n("master-data.intake")

    @property
    def series_versions_changelog(self) -> str:
        """Changelog of the forwarder's de-duplication table."""
        return f"{self.prefix}-series-versions-changelog"

    @property
    def contract_commands(self) -> str:
        """Norgespris contract requests from the Contracts API, keyed by metering point."""
        return self._n("contract-commands")

    @property
    def contracts_changelog(self) -> str:
        """Changelog of the contracts processor's table (contracts per metering point)."""
        return f"{self.prefix}-contracts-changelog"

    @property
    def contracts(self) -> str:
        """Every Norgespris contract as it now stands, by contract id (compacted)."""
        return self._n("contracts")

    @property
    def contract_replies(self) -> str:
        """The contracts processor's answers, by correlation id (short-lived)."""
        return self._n("contract-replies")

    @property
    def authorization_commands(self) -> str:
        """Access API requests and answers for the consent processor, keyed by metering point."""
        return self._n("authorization-commands")

    @property
    def authorizations_changelog(self) -> str:
        """Changelog of the consent table (requests and grants per metering point)."""
        return f"{self.prefix}-authorizations-changelog"

    @property
    def authorizations(self) -> str:
        """Every authorization request and grant as it now stands, by id (compacted)."""
        return self._n("authorizations")

    @property
    def authorization_replies(self) -> str:
        """The consent processor's answers, by correlation id (short-lived)."""
        return self._n("authorization-replies")

    @property
    def shared_production(self) -> str:
        """Shared-production calculations' events (setups, points' answers, participants'
        values), keyed by calculation (<grid owner>|<name>)."""
        return self._n("shared-production.calculations")

    @property
    def shared_production_points(self) -> str:
        """Shared production's messages to metering points (join, leave, results), keyed by
        metering point."""
        return self._n("shared-production.points")

    @property
    def shared_production_changelog(self) -> str:
        return f"{self.prefix}-shared-production-changelog"

    @property
    def shared_production_days_changelog(self) -> str:
        return f"{self.prefix}-shared-production-days-changelog"

    @property
    def shared_production_memberships_changelog(self) -> str:
        return f"{self.prefix}-shared-production-memberships-changelog"

    @property
    def prices(self) -> str:
        """Area prices per interval, by area and interval start (compacted)."""
        return self._n("prices")

    @property
    def point_values_changelog(self) -> str:
        """Changelog of the forwarder's per-point values, one record per point and day."""
        return f"{self.prefix}-point-values-changelog"

    @property
    def point_requests(self) -> str:
        """Reads of one point's stored values (comparison, history), keyed by metering
        point, answered by the task that holds the point."""
        return self._n("point-requests")

    @property
    def point_replies(self) -> str:
        """Answers to point requests, by correlation id (short-lived)."""
        return self._n("point-replies")

    @property
    def queue_positions(self) -> str:
        """Acknowledged position and open poll of every actor queue (compacted)."""
        return self._n("queue-positions")

    @property
    def heartbeats(self) -> str:
        """Heartbeats that made it through the processors' transactions."""
        return self._n("heartbeats")

    @property
    def ops_status(self) -> str:
        """The monitor's latest round (compacted, one key)."""
        return self._n("ops-status")

    @property
    def availability(self) -> str:
        """The monitor's record of forwarding up or down, per round (kept for reporting)."""
        return self._n("availability")

    @property
    def ops_history(self) -> str:
        """The monitor's figures per sample interval, for the /ops page's charts."""
        return self._n("ops-history")

    @property
    def alert_events(self) -> str:
        """Alerts that began or stopped firing, for the /ops page's timeline."""
        return self._n("alert-events")

    @property
    def maintenance(self) -> str:
        """Planned maintenance windows declared by operators (compacted by id)."""
        return self._n("maintenance")

    @property
    def reference_data(self) -> str:
        """Imported reference data such as SSB's næringskode lists (compacted)."""
        return self._n("reference-data")

    @property
    def replays(self) -> str:
        """Replay and re-delivery jobs: checkpoints and audit (compacted by job id)."""
        return self._n("replays")

    @property
    def actors(self) -> str:
        """Market actors the hub knows, by GLN (compacted)."""
        return self._n("actors")

    @property
    def intake_documents(self) -> str:
        """Ids of accepted intake documents per sender, for 'duplicate' answers."""
        return self._n("intake-documents")

    @property
    def dead_letters(self) -> str:
        """Records a processor could not handle, with the reason."""
        return self._n("dead-letters")

    @property
    def metering_point_changelog(self) -> str:
        """Changelog of the master-data table (Faust names it after app id and table)."""
        return f"{self.prefix}-metering-points-changelog"

    def queue_topic(self, actor_gln: str, queue: Queue) -> str:
        """The single-partition topic holding one actor's queue."""
        return self._n(f"queue.{actor_gln}.{queue.value}")

    def parse_queue_topic(self, topic: str) -> tuple[str, Queue] | None:
        """(actor, queue) of a queue topic's name, or None for any other topic."""
        match = re.fullmatch(
            re.escape(self.prefix) + r"\.queue\.(\d{13})\.(metering-values|market-processes)",
            topic,
        )
        return (match.group(1), Queue(match.group(2))) if match else None

    def queue_spec(self, actor_gln: str, queue: Queue) -> TopicSpec:
        return TopicSpec(
            name=self.queue_topic(actor_gln, queue),
            partitions=1,
            replication=self.replication,
            retention_ms=self.queue_retention_days * DAY_MS,
            purpose=f"{queue.value} queue of {actor_gln}",
        )

    @property
    def input_topics(self) -> list[str]:
        """Topics the processors consume from intake: heartbeats go into each of them."""
        return [self.metering_values, self.master_data]

    def static_topics(self) -> list[TopicSpec]:
        """Every topic that exists regardless of which actors are known."""
        p, r = self.partitions, self.replication
        return [
            TopicSpec(self.metering_values, p, r, -1, purpose="metering-value intake (kept)"),
            TopicSpec(self.master_data, p, r, -1, purpose="master-data intake (kept)"),
            TopicSpec(self.metering_point_changelog, p, r, compacted=True,
                      purpose="master-data table changelog"),
            TopicSpec(self.series_versions_changelog, p, r, compacted=True,
                      purpose="forwarder de-duplication table changelog"),
            TopicSpec(self.contract_commands, p, r, 7 * DAY_MS, purpose="contract requests"),
            TopicSpec(self.contracts_changelog, p, r, compacted=True,
                      purpose="contracts table changelog"),
            TopicSpec(self.contracts, 1, r, compacted=True, purpose="contracts by id"),
            TopicSpec(self.contract_replies, 1, r, DAY_MS, compacted=True,
                      purpose="answers to contract requests"),
            TopicSpec(self.authorization_commands, p, r, 7 * DAY_MS,
                      purpose="Access API requests and answers"),
            TopicSpec(self.authorizations_changelog, p, r, compacted=True,
                      purpose="consent table changelog"),
            TopicSpec(self.authorizations, 1, r, compacted=True,
                      purpose="authorization requests and grants by id"),
            TopicSpec(self.authorization_replies, 1, r, DAY_MS, compacted=True,
                      purpose="answers to Access API calls"),
            TopicSpec(self.shared_production, p, r, 30 * DAY_MS,
                      purpose="shared-production calculations' events"),
            TopicSpec(self.shared_production_points, p, r, 30 * DAY_MS,
                      purpose="shared production's messages to metering points"),
            TopicSpec(self.shared_production_changelog, p, r, compacted=True,
                      purpose="shared-production calculations table changelog"),
            TopicSpec(self.shared_production_days_changelog, p, r, compacted=True,
                      purpose="shared-production values per calculation and day"),
            TopicSpec(self.shared_production_memberships_changelog, p, r, compacted=True,
                      purpose="shared-production memberships per metering point"),
            TopicSpec(self.point_values_changelog, p, r, compacted=True,
                      purpose="per-point values table changelog (point|day)"),
            TopicSpec(self.point_requests, p, r, DAY_MS, purpose="reads of a point's values"),
            TopicSpec(self.point_replies, 1, r, DAY_MS // 24,
                      purpose="answers to reads of a point's values"),
            TopicSpec(self.prices, 1, r, compacted=True, purpose="area prices"),
            TopicSpec(self.queue_positions, 1, r, compacted=True,
                      purpose="actor queues' acknowledged positions and open polls"),
            TopicSpec(self.actors, 1, r, compacted=True, purpose="known market actors"),
            TopicSpec(self.replays, 1, r, compacted=True, purpose="replay jobs and audit"),
            TopicSpec(self.reference_data, 1, r, compacted=True, purpose="imported code lists"),
            TopicSpec(self.heartbeats, 1, r, DAY_MS, purpose="heartbeats end to end"),
            TopicSpec(self.ops_status, 1, r, compacted=True, purpose="monitor's latest round"),
            TopicSpec(self.availability, 1, r, 800 * DAY_MS,
                      purpose="forwarding up/down per monitor round"),
            TopicSpec(self.maintenance, 1, r, compacted=True,
                      purpose="planned maintenance windows"),
            TopicSpec(self.ops_history, 1, r, 400 * DAY_MS,
                      purpose="monitor figures per sample interval (ops page charts)"),
            TopicSpec(self.alert_events, 1, r, 800 * DAY_MS,
                      purpose="alerts firing and resolved (ops page timeline)"),
            TopicSpec(self.intake_documents, 1, r, self.duplicate_window_days * DAY_MS,
                      compacted=True, purpose="accepted intake document ids (de-duplication)"),
            TopicSpec(self.dead_letters, 1, r, 30 * DAY_MS, purpose="dead letters"),
        ]
