"""``straum lag``: the monitor's latest round in a terminal (what /ops shows), as tables or as
JSON, with an exit code a script or a Nagios-style check can act on (:func:`exit_code`)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from connectors.compacted import CompactedView
from connectors.http.ops import STALE_AFTER_S, alerts_body, lag_body
from schemas.settings import Settings
from streams.records import ops_status
from streams.topics import TopicCatalogue

STYLE = {"OK": "green", "WARN": "yellow", "ERR": "bold red", "STOP": "bold red",
         "STALL": "bold red", "REWIND": "bold red", "critical": "bold red", "warning": "yellow"}


def _n(value: Any, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def render(status: dict[str, Any] | None) -> Group:
    """Tables of one monitor round (or a line saying there is none)."""
    if status is None:
        return Group("[bold red]no monitor report yet[/]: is `straum monitor` running?")
    age = time.time() - status["takenAt"].timestamp()
    head = (f"group [b]{status['group']}[/b]  status "
            f"[{STYLE.get(status['groupStatus'], '')}]{status['groupStatus']}[/]  "
            f"report {age:.0f} s old" + ("  [bold red](STALE: monitor not reporting)[/]"
                                          if age > STALE_AFTER_S else ""))
    lag = Table(title="consumer lag", title_justify="left")
    for col in ("topic", "part.", "committed", "log end", "lag", "lag s", "status"):
        lag.add_column(col, justify="left" if col in ("topic", "status") else "right")
    for p in status["partitions"]:
        lag.add_row(p["topic"], str(p["partition"]), _n(p["committed"]), _n(p["logEnd"]),
                    _n(p["lag"]), _n(p["lagSeconds"], 1),
                    f"[{STYLE.get(p['status'], '')}]{p['status']}[/]")
    beats = Table(title="heartbeats end to end", title_justify="left")
    for col in ("input topic", "part.", "age s"):
        beats.add_column(col)
    for b in status["heartbeats"]:
        beats.add_row(b["sourceTopic"], str(b["partition"]), _n(b["ageSeconds"], 1))
    alerts = Table(title="alerts", title_justify="left")
    for col in ("state", "alert", "summary"):
        alerts.add_column(col)
    for a in status["alerts"]:
        style = STYLE.get(a["severity"], "") if a["state"] == "firing" else "green"
        alerts.add_row(f"[{style}]{a['state']}[/]", a["name"], a["summary"])
    tail = (f"dead letters {status['deadLetters']:,}   newest value processed "
            f"{_n(status['newestProcessedAgeSeconds'])} s ago   catch-up ETA "
            f"{_n(status['catchUpEtaSeconds'])} s")
    replication = status.get("replication")
    if isinstance(replication, tuple):  # a union's record decodes as (name, record)
        replication = replication[1]
    if replication:
        bad = replication["underReplicated"] or replication["offline"]
        tail += (f"\nkafka: {replication['brokers']} brokers alive, "
                 f"{replication['partitions']:,} partitions, "
                 f"[{'bold red' if bad else 'green'}]{replication['underReplicated']} "
                 f"under-replicated, {replication['belowMinInsync']} below min.insync.replicas, "
                 f"{replication['offline']} offline[/]")
    return Group(head, lag, beats, alerts, tail)


#: Exit codes of ``straum lag`` (the Nagios plugin convention, which monitoring tools read).
OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


def exit_code(status: dict[str, Any] | None, now: float) -> int:
    """0 when nothing fires, 1 when only warnings fire, 2 when a critical alert fires, 3 when
    there is no current report (no monitor round, or one older than 30 s): unknown."""
    if status is None or now - status["takenAt"].timestamp() > STALE_AFTER_S:
        return UNKNOWN
    firing = {a["severity"] for a in status["alerts"] if a["state"] == "firing"}
    return CRITICAL if "critical" in firing else WARNING if firing else OK


def snapshot(status: dict[str, Any] | None, now: float, runbook: str) -> dict[str, Any]:
    """What ``--json`` prints: the lag body of /v1/ops/lag, the alerts of /v1/ops/alerts and
    the queues of /v1/ops/queues, in one object, with the exit code it gives."""
    return {"lag": lag_body(status, now), "alerts": alerts_body(status, now, runbook),
            "queues": list(status["queues"]) if status else [],
            "exitCode": exit_code(status, now)}


def _json_line(status: dict[str, Any] | None, runbook: str) -> str:
    import orjson

    return orjson.dumps(snapshot(status, time.time(), runbook)).decode()


async def _latest(settings: Settings, watch: bool, interval: float, as_json: bool) -> int:
    view = CompactedView(settings, TopicCatalogue.from_settings(settings).ops_status,
                         ops_status.decode)
    await view.start()
    console = Console()
    try:
        if not watch:
            status = view.values.get("status")
            if as_json:
                print(_json_line(status, settings.runbook), flush=True)
            else:
                console.print(render(status))
            return exit_code(status, time.time())
        if as_json:
            while True:
                print(_json_line(view.values.get("status"), settings.runbook), flush=True)
                await asyncio.sleep(interval)
        with Live(render(view.values.get("status")), console=console,
                  refresh_per_second=2) as live:
            while True:
                await asyncio.sleep(interval)
                live.update(render(view.values.get("status")))
    finally:
        await view.stop()


def show_lag(settings: Settings, watch: bool, interval: float = 2.0,
             as_json: bool = False) -> int:
    """Show the monitor's latest round; the exit code of :func:`exit_code`."""
    return asyncio.run(_latest(settings, watch, interval, as_json))
