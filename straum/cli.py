"""The ``straum`` command: run the hub, its processes one by one, the broker, and tools."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from schemas.settings import Settings, get_settings

app = typer.Typer(help="straum: a message backend for an electricity datahub, on Kafka.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
broker_app = typer.Typer(help="The embedded Kafka broker (STRAUM_KAFKA_NODES nodes).",
                         no_args_is_help=True)
app.add_typer(broker_app, name="broker")
replay_app = typer.Typer(help="Send again what actors missed.", no_args_is_help=True)
app.add_typer(replay_app, name="replay")
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


Processes = Annotated[int | None, typer.Option(
    help="API processes serving the port (default STRAUM_API_PROCESSES; 0: the machine's "
         "cores).")]


@app.command()
def run(host: Host = None, port: Port = None,
        demo: Annotated[bool, typer.Option(help="Also run the traffic simulator.")] = False,
        logs_to_terminal: Annotated[bool, typer.Option(
            help="Show the processes' JSON logs here instead of in <data dir>/logs.")] = False,
        api_processes: Processes = None,
        ) -> None:
    """Everything on one machine: broker (unless STRAUM_KAFKA_BOOTSTRAP), worker, API, monitor."""
    from straum.supervisor import Supervisor

    s = settings_or_fail()
    if api_processes is not None:
        s = s.model_copy(update={"api_processes": api_processes})
    supervisor = Supervisor(s, host or s.http_host, port or s.http_port, demo, logs_to_terminal)
    raise typer.Exit(supervisor.run())


@app.command()
def worker(metrics_port: Annotated[int | None, typer.Option(
        help="Prometheus port; 0: none (default STRAUM_WORKER_METRICS_PORT).")] = None) -> None:
    """The stream processors (straum's engine: transactional batches per partition)."""
    from straum.worker import run_worker

    s = settings_or_fail()
    port = s.worker_metrics_port if metrics_port is None else metrics_port
    run_worker(s, port or None)


def api_process_count(s: Settings, processes: int | None) -> int:
    import os

    count = s.api_processes if processes is None else processes
    return count or os.cpu_count() or 1


@app.command()
def api(host: Host = None, port: Port = None, processes: Processes = None) -> None:
    """The HTTP API alone, in one or several processes on one port."""
    import uvicorn

    from connectors.broker.embedded import port_is_free
    from connectors.http.app import create_app
    from straum.api_processes import run_api_processes, shared_socket
    from streams.logging import configure_logging

    s = settings_or_fail()
    host, port = host or s.http_host, port or s.http_port
    count = api_process_count(s, processes)
    sharing = bool(s.api_process_ports)
    if not sharing and host in ("127.0.0.1", "localhost") and not port_is_free(port):
        raise fail(f"port {port} is already in use: stop what holds it or pass --port")
    if count > 1 and not sharing:
        raise typer.Exit(run_api_processes(s, host, port, count))
    configure_logging("api", s.log_level)
    config = uvicorn.Config(create_app(s), log_config=None, access_log=False,
                            server_header=False)
    server = uvicorn.Server(config)
    if not sharing:
        config.host, config.port = host, port
        server.run()
        return
    own = [int(p) for p in s.api_process_ports.split(",")][s.api_process_index]
    server.run(sockets=[shared_socket(host, port), shared_socket("127.0.0.1", own)])


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
def lag(watch: Annotated[bool, typer.Option(help="Keep refreshing.")] = False,
        json: Annotated[bool, typer.Option(
            "--json", help="One JSON object (lag, alerts, queues, exitCode); with --watch, "
                           "one per refresh.")] = False) -> None:
    """Consumer lag, heartbeats and alerts as the monitor last saw them. Exit code: 0 nothing
    firing, 1 a warning firing, 2 a critical alert firing, 3 no current monitor report."""
    from straum.lag_view import show_lag

    raise typer.Exit(show_lag(settings_or_fail(), watch, as_json=json))


topics_app = typer.Typer(help="Read straum's topics, decoded.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
dead_letters_app = typer.Typer(help="Records the processors could not handle.",
                               no_args_is_help=True)
app.add_typer(dead_letters_app, name="dead-letters")
AsJson = Annotated[bool, typer.Option("--json", help="JSON Lines, one object a record.")]


def _topics_call(call: Any) -> Any:
    import asyncio

    from straum.topics_cli import TopicError
    from streams.records.readable import NotAValue

    try:
        return asyncio.run(call)
    except (TopicError, NotAValue, TimeoutError) as exc:
        raise fail(str(exc)) from exc


@topics_app.command("list")
def topics_list(as_json: AsJson = False) -> None:
    """Every topic of STRAUM_TOPIC_PREFIX: partitions, records kept, what it holds."""
    from rich.console import Console
    from rich.table import Table

    from straum.topics_cli import list_topics, print_json_line

    rows = _topics_call(list_topics(settings_or_fail()))
    if as_json:
        for row in rows:
            print_json_line(row)
        return
    table = Table()
    for column in ("topic", "partitions", "records", "purpose"):
        table.add_column(column, justify="right" if column in ("partitions", "records")
                         else "left")
    for row in rows:
        table.add_row(row["topic"], str(row["partitions"]), f"{row['records']:,}",
                      row["purpose"])
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@topics_app.command("tail")
def topics_tail(
        topic: Annotated[str, typer.Argument(help="Topic name, with or without the prefix "
                                                  "(metering-values.intake).")],
        from_: Annotated[str | None, typer.Option(
            "--from", help="Records from this time on (ISO 8601 with an offset).")] = None,
        key: Annotated[str | None, typer.Option(help="Only records with this key.")] = None,
        count: Annotated[int | None, typer.Option(
            help="At most this many records (default 10; with --from: all).")] = None,
        follow: Annotated[bool, typer.Option(help="Then print new records as they come.")]
        = False,
        as_json: AsJson = False) -> None:
    """A topic's last records (or those from a time on), decoded: Avro records by their
    schema, queue messages as their JSON; committed records only."""
    from straum.topics_cli import Shown, print_json_line, read_topic

    since = _moment(from_, "--from") if from_ is not None else None

    def emit(record: Shown) -> None:
        if as_json:
            print_json_line(record.as_json())
        else:
            typer.echo(record.as_line())

    limit = count if count is not None else (None if since is not None else 10)
    _topics_call(read_topic(settings_or_fail(), topic, since, key, limit, follow, emit))


@dead_letters_app.command("list")
def dead_letters_list(count: Annotated[int, typer.Option(help="The last N.")] = 20,
                      as_json: AsJson = False) -> None:
    """The last dead letters: where each came from and why it failed."""
    from rich.console import Console
    from rich.table import Table

    from straum.topics_cli import dead_letters, print_json_line

    letters = _topics_call(dead_letters(settings_or_fail(), count))
    if as_json:
        for letter in letters:
            print_json_line(letter)
        return
    if not letters:
        typer.echo("no dead letters")
        return
    table = Table()
    for column in ("offset", "failed at", "processor", "from", "error"):
        table.add_column(column)
    for d in letters:
        table.add_row(str(d["deadLetterOffset"]), d["failedAt"], d["processor"],
                      f"{d['topic']}[{d['partition']}]@{d['offset']}",
                      f"{d['errorType']}: {d['error'][:120]}")
    Console(width=None if sys.stdout.isatty() else 220).print(table)


@dead_letters_app.command("show")
def dead_letters_show(offset: Annotated[int, typer.Argument(help="The dead letter's offset.")]
                      ) -> None:
    """One dead letter in full, its original record decoded (JSON; edit `original.value`
    and pass the file to `retry --value`)."""
    import json as json_module

    from straum.topics_cli import dead_letters

    [letter] = _topics_call(dead_letters(settings_or_fail(), offset=offset))
    typer.echo(json_module.dumps(letter, indent=2, ensure_ascii=False, default=str))


@dead_letters_app.command("retry")
def dead_letters_retry(
        offset: Annotated[int, typer.Argument(help="The dead letter's offset.")],
        value: Annotated[Path | None, typer.Option(
            exists=True, dir_okay=False, help="The fixed record as JSON: its readable form, "
            "or a `dead-letters show` output with original.value fixed.")] = None,
        type_: Annotated[str | None, typer.Option(
            "--type", help="Record type of --value (a schemas/avro file name without "
                           ".avsc); default: the original's.")] = None) -> None:
    """Send a dead letter's record back to the topic and partition it came from, as it was
    or fixed (--value): the processors take it again."""
    import json as json_module

    from straum.topics_cli import retry_dead_letter

    fixed = None
    if value is not None:
        try:
            fixed = json_module.loads(value.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise fail(f"{value}: not JSON ({exc})") from exc
    topic, partition, sent = _topics_call(retry_dead_letter(settings_or_fail(), offset, fixed,
                                                            type_))
    typer.echo(f"dead letter {offset} sent {'fixed ' if fixed is not None else ''}to "
               f"{topic}[{partition}] at offset {sent}")


class TokenRole(StrEnum):
    grid_owner = "grid_owner"
    supplier = "supplier"
    third_party = "third_party"
    operator = "operator"
    end_user = "end_user"


@app.command()
def token(role: Annotated[list[TokenRole], typer.Option(help="Role; repeat for several.")],
          party: Annotated[str | None, typer.Option(
              help="The caller's GLN (13 digits); not for end_user.")] = None,
          national_id: Annotated[str | None, typer.Option(
              "--national-id", help="The end user's national id (end_user only).")] = None,
          ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 12 * 3600) -> None:
    """Print a development bearer token signed with the local development key.

    Market parties: ``--party GLN --role ROLE``; an end user (the consent pages):
    ``--role end_user --national-id N``.
    """
    from connectors.http.auth import issue_dev_token
    from domain.identifiers import IdentifierError

    roles = [r.value for r in role]
    if TokenRole.end_user in role:
        if party is not None or national_id is None or len(roles) > 1:
            raise fail("an end user's token: --role end_user --national-id N (no --party, "
                       "no other role)")
        try:
            typer.echo(issue_dev_token(settings_or_fail(), None, roles, ttl, national_id))
        except IdentifierError as exc:
            raise fail(f"--national-id: {exc}") from exc
        return
    if party is None or national_id is not None:
        raise fail("--party GLN is required (and --national-id is for end_user only)")
    try:
        typer.echo(issue_dev_token(settings_or_fail(), party, roles, ttl))
    except IdentifierError as exc:
        raise fail(f"--party: {exc}") from exc


def _broker() -> tuple[Settings, object]:
    """The embedded broker (STRAUM_KAFKA_NODES=1) or cluster (more) of the data directory."""
    from connectors.broker.cluster import embedded_kafka
    from connectors.broker.embedded import BrokerError

    s = settings_or_fail()
    if s.kafka_bootstrap:
        raise fail("STRAUM_KAFKA_BOOTSTRAP is set: straum uses that cluster and runs no broker")
    try:
        return s, embedded_kafka(s.data_dir, s.kafka_cache_dir, s.kafka_version, s.kafka_nodes,
                                 s.kafka_port, s.kafka_controller_port, s.kafka_heap,
                                 s.kafka_node_heap)
    except BrokerError as exc:
        raise fail(str(exc)) from exc


@broker_app.command("fetch")
def broker_fetch() -> None:
    """Fetch the broker's jars from Maven Central into the cache (once)."""
    from connectors.broker.embedded import BrokerError, ensure_jars
    from connectors.broker.jmx import ensure_agent
    from straum.supervisor import JarProgress

    s = settings_or_fail()
    progress = JarProgress(s.kafka_version, s.kafka_cache_dir)
    try:
        libs = ensure_jars(s.kafka_cache_dir, s.kafka_version, progress=progress)
        agent = ensure_agent(s.kafka_cache_dir, progress) if s.kafka_metrics_port else None
    except BrokerError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"Apache Kafka {s.kafka_version} jars in {libs}")
    if agent is not None:
        typer.echo(f"Prometheus JMX exporter agent in {agent}")


@broker_app.command("start")
def broker_start() -> None:
    """Start the embedded broker (or STRAUM_KAFKA_NODES nodes) in the background and wait
    until it answers."""
    from connectors.broker.cluster import EmbeddedCluster
    from connectors.broker.embedded import BrokerError, EmbeddedBroker

    _, b = _broker()
    try:
        if isinstance(b, EmbeddedCluster):
            layout = b.start(detach=True)
            typer.echo(f"Kafka cluster of {b.count} nodes running at {layout.bootstrap} "
                       f"(replication {b.replication}, min.insync.replicas 2, data {b.home})")
            return
        assert isinstance(b, EmbeddedBroker)
        info = b.start(detach=True)
    except BrokerError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"Kafka broker running at {info.bootstrap} (pid {info.pid}, data {b.home})")


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the embedded broker (or every node of the cluster) of this data directory."""
    from connectors.broker.cluster import EmbeddedCluster
    from connectors.broker.embedded import EmbeddedBroker

    _, b = _broker()
    assert isinstance(b, EmbeddedBroker | EmbeddedCluster)
    typer.echo(("Kafka cluster stopped" if isinstance(b, EmbeddedCluster) else
                "Kafka broker stopped") if b.stop() else "no broker was running")


@broker_app.command("status")
def broker_status() -> None:
    """Say whether the embedded broker (each node of a cluster) runs and answers; exit 1 if
    not."""
    from connectors.broker.cluster import EmbeddedCluster
    from connectors.broker.embedded import EmbeddedBroker, port_answers

    _, b = _broker()
    if isinstance(b, EmbeddedCluster):
        rows = b.status()
        if not rows:
            typer.echo("no broker is running for this data directory")
            raise typer.Exit(1)
        for node_id, pid, address, answers in rows:
            state = ("answering" if answers else "NOT answering") if pid else "not running"
            typer.echo(f"node {node_id} pid {pid or '-'} at {address}: {state}")
        raise typer.Exit(0 if all(r[3] for r in rows) else 1)
    assert isinstance(b, EmbeddedBroker)
    info = b.read_info()
    if info is None:
        typer.echo("no broker is running for this data directory")
        raise typer.Exit(1)
    answers = port_answers(info.port)
    typer.echo(f"broker pid {info.pid} at {info.bootstrap}: "
               + ("answering" if answers else "NOT answering"))
    raise typer.Exit(0 if answers else 1)


@app.command()
def simulate(
        points: Annotated[int, typer.Option(help="Metering points to simulate.")] = 1000,
        grid_owners: Annotated[int, typer.Option(help="Grid owners (they send the values).")
                               ] = 10,
        suppliers: Annotated[int, typer.Option(help="Suppliers (they receive them).")] = 20,
        day: Annotated[datetime | None, typer.Option(
            formats=["%Y-%m-%d"], help="Day of values to send (default: yesterday in Oslo)."),
        ] = None,
        follow: Annotated[bool, typer.Option(
            help="Then keep going until Ctrl-C or SIGTERM: a trickle of corrections and each "
                 "new day's morning batch.")] = False,
        rate: Annotated[float | None, typer.Option(
            help="At most this many series per second (default: as fast as the API answers; "
                 "1/s for the --follow trickle).")] = None,
        seed: Annotated[int, typer.Option(
            help="Seed of the population and its values: the same seed and day send the same "
                 "documents again (answered as duplicates).")] = 1,
        url: Annotated[str | None, typer.Option(
            help="straum's API (default: http://STRAUM_HTTP_HOST:STRAUM_HTTP_PORT).")] = None,
) -> None:
    """Traffic against the API: register points, start supply, send a day of metering values."""
    from connectors.simulator import main as simulate_main
    from streams.logging import configure_logging

    s = settings_or_fail()
    configure_logging("simulator", s.log_level)
    host = "127.0.0.1" if s.http_host in ("0.0.0.0", "::") else s.http_host
    raise typer.Exit(simulate_main(points, grid_owners, suppliers, day.date() if day else None,
                                   follow, rate, seed, url or f"http://{host}:{s.http_port}", s))


master_data_app = typer.Typer(help="Bulk master-data work.", no_args_is_help=True)
app.add_typer(master_data_app, name="master-data")


@master_data_app.command("migrate-types")
def migrate_types(
        mapping: Annotated[Path, typer.Option(exists=True, dir_okay=False,
                                              help="CSV: field,old,new.")],
        effective_from: Annotated[datetime | None, typer.Option(
            formats=["%Y-%m-%d"], help="Date the new codes apply from (default today).")]
        = None,
        dry_run: Annotated[bool, typer.Option(help="Show what would change; send nothing.")]
        = False) -> None:
    """Apply a production/consumption type mapping to every stored point, through the
    ordinary BRS-NO-302 path (suppliers are notified)."""
    from domain.series import HUB_TIMEZONE
    from straum.migrate import run_migration

    day = effective_from.date() if effective_from else datetime.now(HUB_TIMEZONE).date()
    try:
        count = run_migration(settings_or_fail(), mapping, day, dry_run)
    except (ValueError, TimeoutError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{count} metering points {'would change' if dry_run else 'sent for change'}")


prices_app = typer.Typer(help="Area prices for the Norgespris comparison.",
                         no_args_is_help=True)
app.add_typer(prices_app, name="prices")


@prices_app.command("import")
def prices_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                  eur_nok: Annotated[float | None, typer.Option(
                      help="Exchange rate for rows in EUR/MWh without their own.")] = None
                  ) -> None:
    """Import area prices from CSV: area,start,resolution,price[,unit[,eurNok]]."""
    import asyncio
    import csv

    from rich.progress import track

    from connectors.http.norgespris import publish_prices
    from domain.prices import parse_price
    from streams.kafka import durable_producer, wait_for_broker
    from streams.topics import TopicCatalogue

    s = settings_or_fail()
    with file.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    prices, problems = [], []
    for i, row in enumerate(track(rows, description="checking prices",
                                  disable=not sys.stderr.isatty())):
        if eur_nok is not None and not row.get("eurNok"):
            row["eurNok"] = str(eur_nok)
        price, found = parse_price(row, f"line {i + 2}", text_numbers=True)
        problems += found
        if price is not None:
            prices.append(price)
    if problems:
        for p in problems[:20]:
            typer.echo(f"{file.name}: {p['pointer']}: {p['detail']}", err=True)
        raise fail(f"{len(problems)} problem(s) in {file.name}; nothing was imported")

    async def send() -> None:
        await wait_for_broker(s, 30)
        producer = durable_producer(s, "straum-prices")
        await producer.start()
        try:
            await publish_prices(producer, TopicCatalogue.from_settings(s), prices,
                                 f"file:{file.name}")
        finally:
            await producer.stop()

    asyncio.run(send())
    typer.echo(f"imported {len(prices)} prices from {file.name}")


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


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{option}: {value!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise fail(f"{option}: give an offset, e.g. {value}+01:00 or {value}Z")
    return moment


class ReplayBy(StrEnum):
    value_time = "value-time"
    intake_time = "intake-time"


@replay_app.command("metering-values")
def replay_metering_values(
        from_: Annotated[str, typer.Option("--from", help="Window start (ISO 8601, offset).")],
        to: Annotated[str, typer.Option("--to", help="Window end (exclusive).")],
        by: Annotated[ReplayBy, typer.Option(help="Which time the window is in.")] =
        ReplayBy.value_time,
        metering_point: Annotated[list[str] | None, typer.Option(help="Only these points.")]
        = None,
        grid_area: Annotated[list[str] | None, typer.Option(help="Only these grid areas.")]
        = None,
        recipient: Annotated[list[str] | None, typer.Option(help="Only to these actors.")]
        = None,
        rate: Annotated[float, typer.Option(help="Series per second at most (0: no bound).")]
        = 500.0,
        dry_run: Annotated[bool, typer.Option(help="Show the plan; send nothing.")] = False,
) -> None:
    """Re-forward metering values for a window, to the recipients of the time of the values,
    with the first delivery's message ids."""
    from domain.replay import ReplayScope
    from straum.replay_cli import replay_values

    scope = ReplayScope(_moment(from_, "--from"), _moment(to, "--to"), by.value,
                        frozenset(metering_point or ()), frozenset(grid_area or ()),
                        frozenset(recipient or ()))
    _replay_call(lambda s: replay_values(s, scope, rate, dry_run))


@replay_app.command("resume")
def replay_resume(job: str, rate: Annotated[float | None, typer.Option(
        help="New rate bound (series/s).")] = None) -> None:
    """Continue a stopped replay from its checkpoint: nothing already sent is sent again."""
    from straum.replay_cli import resume

    _replay_call(lambda s: resume(s, job, rate))


@replay_app.command("list")
def replay_list() -> None:
    """Every replay and re-delivery, with who, when, what and how far (the audit record)."""
    import asyncio

    from rich.console import Console

    from straum.replay_cli import list_jobs

    console = Console()
    if not console.is_terminal:
        console = Console(width=220)  # whole ids in pipes and files
    console.print(asyncio.run(list_jobs(settings_or_fail())))


class QueueOption(StrEnum):
    metering_values = "metering-values"
    market_processes = "market-processes"


@replay_app.command("queue")
def replay_queue(actor: Annotated[str, typer.Option(help="The actor's GLN.")],
                 queue: Annotated[QueueOption, typer.Option(help="Which queue.")],
                 since: Annotated[str, typer.Option(help="Deliver again from this time.")]
                 ) -> None:
    """Deliver an actor's queue again from a time (moves its position back; copies nothing)."""
    import asyncio

    from straum.replay_cli import redeliver
    from streams.topics import Queue

    moment = _moment(since, "--since")
    try:
        job = asyncio.run(redeliver(settings_or_fail(), actor, Queue(queue.value), moment))
    except ValueError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{actor}'s {queue.value} queue will deliver again from {moment.isoformat()}: "
               f"{job.planned_messages:,} messages (re-delivery {job.id})")


def _replay_call(run: Any) -> None:
    import asyncio

    try:
        code = asyncio.run(run(settings_or_fail()))
    except (ValueError, TimeoutError) as exc:
        raise fail(str(exc)) from exc
    raise typer.Exit(code)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
