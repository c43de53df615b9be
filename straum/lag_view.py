"""``straum lag``: the monitor's latest round in a terminal (what /ops shows)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from connectors.compacted import CompactedView
from connectors.http.ops import STALE_AFTER_S, decode_status
from straum.settings import Settings
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


async def _latest(settings: Settings, watch: bool, interval: float) -> None:
    view = CompactedView(settings, TopicCatalogue.from_settings(settings).ops_status,
                         decode_status)
    await view.start()
    console = Console()
    try:
        if not watch:
            console.print(render(view.values.get("status")))
            return
        with Live(render(view.values.get("status")), console=console,
                  refresh_per_second=2) as live:
            while True:
                await asyncio.sleep(interval)
                live.update(render(view.values.get("status")))
    finally:
        await view.stop()


def show_lag(settings: Settings, watch: bool, interval: float = 2.0) -> None:
    asyncio.run(_latest(settings, watch, interval))
