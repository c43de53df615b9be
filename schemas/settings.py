"""One typed settings object, read from STRAUM_* environment variables.

Every process (worker, API, monitor, CLI) reads the same settings so that they agree on the
broker, the data directory and the topic layout without passing flags between them.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def straum_home() -> Path:
    """The folder a relative ``STRAUM_DATA_DIR`` is taken from: the root of the checkout straum
    runs from (where ``make run`` puts ``var``), or, for an installed straum without a checkout,
    ``$XDG_DATA_HOME/straum`` (``~/.local/share/straum``). Never the current directory, so that
    ``straum token`` run from another folder signs with the key the API verifies with."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "straum").is_dir():
        return checkout
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "straum"


class Settings(BaseSettings):
    """straum's configuration; see README "Configuration" for each variable."""

    model_config = SettingsConfigDict(env_prefix="STRAUM_", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"), description="Broker data, keys and state; a relative path is "
        "taken from straum_home() (the checkout's root), once, when the settings are read.")
    kafka_bootstrap: str | None = Field(
        default=None, description="Existing Kafka cluster; unset starts the embedded broker."
    )
    kafka_version: str = "4.1.1"
    kafka_port: int = Field(default=9092, description="Embedded broker's client port; 0 = free.")
    kafka_controller_port: int = Field(default=9093, description="Embedded controller port.")
    kafka_heap: str = "768m"
    kafka_metrics_port: int = Field(
        default=9404, ge=0, description="The embedded broker's /metrics, served by the "
        "Prometheus JMX exporter agent; 0: no agent.")
    kafka_nodes: int = Field(
        default=1, ge=1, le=9, description="Embedded Kafka nodes: 1 is one broker; 3 is a KRaft "
        "cluster on free ports with replication 3 and min.insync.replicas 2 for every topic.")
    kafka_node_heap: str = Field(
        default="512m", description="Heap of each node of an embedded cluster (kafka_nodes > 1).")
    kafka_cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "straum",
        description="Where the broker's jars are cached, outside the repository.",
    )
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: Path | None = None

    topic_prefix: str = Field(default="straum", description="Prefix of every topic's name.")
    partitions: int = Field(default=6, ge=1, description="Partitions of the input topics.")
    replication_factor: int = Field(
        default=1, ge=1, description="Copies of every topic straum creates; `straum run` "
        "with STRAUM_KAFKA_NODES=3 sets 3.")
    intake_write_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long intake waits for its records to be durable "
        "before answering 503 with Retry-After (a broker lost: leaders being elected, or too "
        "few in-sync replicas).")
    queue_retention_days: int = Field(default=90, ge=1)
    series_history_days: int = Field(
        default=60, ge=1, description="How long forwarded series are remembered per point, "
        "to drop resends and version corrections.")
    max_record_bytes: int = Field(
        default=1024 * 1024, ge=64 * 1024, description="The largest record straum writes; "
        "the topics' max.message.bytes is set to fit it.")
    transaction_timeout_seconds: float = Field(
        default=15.0, gt=0, description="How long a crashed worker's open transaction may "
        "hold back readers before the broker aborts it.")
    worker_id: str | None = Field(
        default=None, description="A stable name for this worker (static group membership): "
        "a restarted worker with the same name gets its partitions back at once.")
    worker_session_timeout_seconds: float = Field(
        default=10.0, ge=6.0, description="How long a silent worker keeps its partitions.")
    worker_batch_records: int = Field(
        default=2000, ge=1, description="Records per fetch and transaction, at most.")
    fault_exit_before_commit: int = Field(
        default=0, ge=0, description="Drills and tests only: the worker exits (as if killed) "
        "in its n-th transaction, after sending the outputs and before committing.")
    duplicate_window_days: int = Field(
        default=7, ge=1, description="How long a (sender, messageId) is remembered at intake.")

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    api_processes: int = Field(
        default=0, ge=0, description="API processes serving one port (0: the machine's cores).")
    api_process_index: int = Field(
        default=0, ge=0, description="Set by `straum api --processes`: this process's number.")
    api_process_ports: str = Field(
        default="", description="Set by `straum api --processes`: every API process's "
        "loopback port, comma-separated, in process order.")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, description="Intake body limit.")

    rate_limit_per_second: float = Field(
        default=100.0, ge=0, description="Requests per second per actor and API process (0: off).")
    rate_limit_burst: int = Field(default=300, ge=1)
    jwks_url: str | None = Field(default=None, description="Production token keys (JWKS).")
    jwks_issuer: str | None = Field(
        default=None, description="The identity provider's issuer (iss) that tokens signed "
        "by a JWKS key must carry; without it such tokens are refused.")
    token_issuer: str = Field(
        default="straum-dev", description="Issuer (iss) of development tokens: what "
        "`straum token` writes and the API requires of them.")
    token_audience: str = "straum"  # noqa: S105 - an audience name, not a secret

    supply_start_max_days_ahead: int = Field(
        default=60, ge=0, le=366, description="How far ahead a start of supply (BRS-NO-101) "
        "may lie; our choice, see docs/ARCHITECTURE.md.")

    alert_webhook: str | None = Field(default=None, description="Alert events as JSON here.")
    alert_webhook_format: Literal["straum", "alertmanager"] = Field(
        default="straum", description="The webhook's body: straum's own event, or "
        "Alertmanager's webhook payload (version 4), for receivers built for Alertmanager.")
    runbook_url: str | None = Field(
        default=None, description="The runbook's absolute URL (alerts link its sections as "
        "<url>#<section>); default: the one the API serves, http://<host>:<port>/runbook.")
    clock_offset_seconds: float = Field(
        default=0.0, description="Shifts the processors' clock: for drills and "
        "time-compressed tests only, never in production.")
    contract_timer_seconds: float = Field(
        default=30.0, gt=0, description="How often contract lifecycles are moved on.")
    monitor_interval_seconds: float = Field(default=5.0, gt=0)
    history_sample_seconds: float = Field(
        default=60.0, gt=0, description="How often the monitor records its figures for the "
        "/ops page's history charts.")
    heartbeat_interval_seconds: float = Field(default=10.0, gt=0)
    heartbeat_stale_seconds: float = Field(
        default=40.0, gt=0, description="Forwarding counts as stopped when the newest "
        "heartbeat through a partition is older than this.")
    monitor_startup_grace_seconds: float = Field(default=60.0, ge=0)
    # -- market processes (issue 16); each choice is argued in docs/ARCHITECTURE.md ---------
    consent_required_from: date | None = Field(
        default=date(2025, 1, 1), description="From this day (the hub's, Europe/Oslo) a "
        "switch (BRS-NO-101) or move-in (BRS-NO-102/103) of an end user who is a person needs "
        "the end user's consent (authorizationGrantId); unset: never required.")
    authorization_request_days: int = Field(
        default=28, ge=1, le=366, description="How long an authorization request stays open "
        "(to the start of the day, Europe/Oslo, this many days on).")
    authorization_grant_months: int = Field(
        default=12, ge=1, le=120, description="How long a grant stays usable from the day "
        "it was given, in calendar months (Elhub: one year).")
    move_in_max_backdating_days: int = Field(
        default=30, ge=0, le=366, description="How far back a move-in (BRS-NO-103) may be "
        "dated; our choice.")
    move_in_max_days_ahead: int = Field(
        default=60, ge=0, le=366, description="How far ahead a move-in (BRS-NO-102) may lie; "
        "our choice.")
    move_out_min_days_ahead: int = Field(
        default=1, ge=0, le=366, description="A move-out (BRS-NO-201) is sent at the latest "
        "this many days before its end date (BRS-NO-201: one calendar day for interval-"
        "metered points).")
    move_out_max_days_ahead: int = Field(
        default=4, ge=0, le=366, description="... and at the earliest this many days before "
        "(BRS-NO-201: four calendar days for interval-metered points).")
    dynamic_split_without_consumption: Literal["equal", "none"] = Field(
        default="equal", description="Shared production (BRS-NO-701) with a dynamic key in an "
        "interval where no receiver consumed: split equally (all production must be "
        "distributed), or allocate nothing.")

    metrics_host: str = Field(default="127.0.0.1",
                              description="Interface of the worker's and monitor's /metrics.")
    dev_tokens: bool | None = Field(
        default=None, description="Accept development tokens; default: only without a JWKS.")
    worker_metrics_port: int = Field(default=9465, ge=0, description="Worker /metrics; 0: off.")
    monitor_metrics_port: int = Field(default=9466, ge=0, description="Monitor /metrics; 0: off.")
    log_level: str = "INFO"

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        """Resolved once, here: every process and command of one checkout agrees on it,
        whatever folder it was started from."""
        value = value.expanduser()
        return (value if value.is_absolute() else straum_home() / value).resolve()

    @field_validator("consent_required_from", mode="before")
    @classmethod
    def _never(cls, value: object) -> object:
        """``STRAUM_CONSENT_REQUIRED_FROM=`` (empty) or ``never``: consent is never required."""
        return None if isinstance(value, str) and value.strip().lower() in ("", "never") \
            else value

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers to use: the configured cluster or the embedded broker."""
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def runbook(self) -> str:
        """The runbook's absolute URL (``STRAUM_RUNBOOK_URL``, or the API's own /runbook)."""
        if self.runbook_url:
            return self.runbook_url
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::", "") else self.http_host
        return f"http://{host}:{self.http_port}/runbook"

    @property
    def accepts_dev_tokens(self) -> bool:
        """Development tokens are for machines without an identity provider."""
        return self.jwks_url is None if self.dev_tokens is None else self.dev_tokens

    @property
    def dev_key_path(self) -> Path:
        """Private key of development tokens; created on first use."""
        return self.data_dir / "keys" / "dev-signing-key.pem"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
