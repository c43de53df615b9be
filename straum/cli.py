"""The ``straum`` command: run the hub, its processes one by one, the broker, and tools."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from straum.settings import Settings, get_settings

app = typer.Typer(help="straum: a message backend for an electricity datahub, on Kafka.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
broker_app = typer.Typer(help="The embedded single-node Kafka broker.", no_args_is_help=True)
app.add_typer(broker_app, name="broker")
codes_app = typer.Typer(help="Næringskode reference data (SSB KLASS exports).",
                        no_args_is_help=True)
app.add_typer(codes_app, name="codes")


def fail(message: str, code: int = 1) -> typer.Exit:
    """One clear line on stderr and a non-zero exit."""
    typer.echo(f"straum: error: {message}", err=True)
    return typer.Exit(code)


def settings_or_fail() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError: say which variable is wrong
        raise fail(f"invalid STRAUM_* setting: {exc}") from exc


Host = Annotated[str | None, typer.Option(help="Interface to serve HTTP on.")]
Port = Annotated[int | None, typer.Option(help="HTTP port.")]


@app.command()
def run(host: Host = None, port: Port = None,
        demo: Annotated[bool, typer.Option(help="Also run the traffic simulator.")] = False,
        logs_to_terminal: Annotated[bool, typer.Option(
            help="Show the processes' JSON logs here instead of in <data dir>/logs.")] = False,
        ) -> None:
    """Everything on one machine: broker (unless STRAUM_KAFKA_BOOTSTRAP), worker, API, monitor."""
    from straum.supervisor import Supervisor

    s = settings_or_fail()
    supervisor = Supervisor(s, host or s.http_host, port or s.http_port, demo, logs_to_terminal)
    raise typer.Exit(supervisor.run())


@app.command()
def worker(metrics_port: Annotated[int | None, typer.Option(
        help="Prometheus port; 0: none (default STRAUM_WORKER_METRICS_PORT).")] = None) -> None:
    """The stream processors (Faust worker)."""
    from straum.worker import run_worker

    s = settings_or_fail()
    port = s.worker_metrics_port if metrics_port is None else metrics_port
    run_worker(s, port or None)


@app.command()
def api(host: Host = None, port: Port = None) -> None:
    """The HTTP API alone."""
    import uvicorn

    from connectors.broker.embedded import port_is_free
    from connectors.http.app import create_app
    from straum.logging import configure_logging

    s = settings_or_fail()
    host, port = host or s.http_host, port or s.http_port
    if host in ("127.0.0.1", "localhost") and not port_is_free(port):
        raise fail(f"port {port} is already in use: stop what holds it or pass --port")
    configure_logging("api", s.log_level)
    uvicorn.run(create_app(s), host=host, port=port, log_config=None, access_log=False,
                server_header=False)


@app.command()
def monitor(metrics_port: Annotated[int | None, typer.Option(
                help="Prometheus port; 0: none (default STRAUM_MONITOR_METRICS_PORT).")] = None,
            webhook: Annotated[str | None, typer.Option(
                help="URL that receives alert events as JSON (or STRAUM_ALERT_WEBHOOK).")] = None,
            ) -> None:
    """The lag monitor and alerting, apart from the processors it watches (intervals and
    thresholds: STRAUM_MONITOR_INTERVAL_SECONDS, STRAUM_HEARTBEAT_*)."""
    from straum.monitor import run_monitor

    s = settings_or_fail()
    port = s.monitor_metrics_port if metrics_port is None else metrics_port
    run_monitor(s, port or None, webhook or s.alert_webhook)


@app.command()
def lag(watch: Annotated[bool, typer.Option(help="Keep refreshing.")] = False) -> None:
    """Consumer lag, heartbeats and alerts as the monitor last saw them."""
    from straum.lag_view import show_lag

    show_lag(settings_or_fail(), watch)


class TokenRole(StrEnum):
    grid_owner = "grid_owner"
    supplier = "supplier"
    third_party = "third_party"
    operator = "operator"


@app.command()
def token(party: Annotated[str, typer.Option(help="The caller's GLN (13 digits).")],
          role: Annotated[list[TokenRole], typer.Option(help="Role; repeat for several.")],
          ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 12 * 3600) -> None:
    """Print a development bearer token signed with the local development key."""
    from connectors.http.auth import issue_dev_token
    from domain.identifiers import IdentifierError

    try:
        typer.echo(issue_dev_token(settings_or_fail(), party, [r.value for r in role], ttl))
    except IdentifierError as exc:
        raise fail(f"--party: {exc}") from exc


def _broker() -> tuple[Settings, object]:
    from connectors.broker.embedded import EmbeddedBroker

    s = settings_or_fail()
    if s.kafka_bootstrap:
        raise fail("STRAUM_KAFKA_BOOTSTRAP is set: straum uses that cluster and runs no broker")
    return s, EmbeddedBroker(s.data_dir, s.kafka_cache_dir, s.kafka_version, s.kafka_port,
                             s.kafka_controller_port, s.kafka_heap)


@broker_app.command("fetch")
def broker_fetch() -> None:
    """Fetch the broker's jars from Maven Central into the cache (once)."""
    from connectors.broker.embedded import BrokerError, ensure_jars

    s = settings_or_fail()
    try:
        libs = ensure_jars(s.kafka_cache_dir, s.kafka_version)
    except BrokerError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"Apache Kafka {s.kafka_version} jars in {libs}")


@broker_app.command("start")
def broker_start() -> None:
    """Start the embedded broker in the background and wait until it answers."""
    from connectors.broker.embedded import BrokerError, EmbeddedBroker

    _, b = _broker()
    assert isinstance(b, EmbeddedBroker)
    try:
        info = b.start(detach=True)
    except BrokerError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"Kafka broker running at {info.bootstrap} (pid {info.pid}, data {b.home})")


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the embedded broker of this data directory."""
    from connectors.broker.embedded import EmbeddedBroker

    _, b = _broker()
    assert isinstance(b, EmbeddedBroker)
    typer.echo("Kafka broker stopped" if b.stop() else "no broker was running")


@broker_app.command("status")
def broker_status() -> None:
    """Say whether the embedded broker runs and answers; exit 1 if not."""
    from connectors.broker.embedded import EmbeddedBroker, port_answers

    _, b = _broker()
    assert isinstance(b, EmbeddedBroker)
    info = b.read_info()
    if info is None:
        typer.echo("no broker is running for this data directory")
        raise typer.Exit(1)
    answers = port_answers(info.port)
    typer.echo(f"broker pid {info.pid} at {info.bootstrap}: "
               + ("answering" if answers else "NOT answering"))
    raise typer.Exit(0 if answers else 1)


ExistingFile = Annotated[Path, typer.Option(exists=True, dir_okay=False, readable=True)]


@codes_app.command("import")
def codes_import(sn2007: ExistingFile, sn2025: ExistingFile, correspondence: ExistingFile
                 ) -> None:
    """Import SN2007 and SN2025 code lists and their correspondence (KLASS CSV exports)."""
    from straum.codes import run_import

    try:
        typer.echo(run_import(settings_or_fail(), sn2007, sn2025, correspondence))
    except (ValueError, TimeoutError) as exc:
        raise fail(str(exc)) from exc


@codes_app.command("report")
def codes_report(output: Annotated[Path | None, typer.Option(
        help="CSV file to write; standard output when left out.")] = None) -> None:
    """Per grid owner, the points that still carry an SN2007 code (CSV)."""
    from straum.codes import run_report

    try:
        count = run_report(settings_or_fail(), output)
    except (ValueError, TimeoutError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{count} metering points still carry an SN2007 code", err=True)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
