"""The forwarder benchmark's table."""

from __future__ import annotations

from bench.common import Table, num
from bench.fixtures import SUPPLY_DAYS_BACK
from bench.forwarder import FAN_OUT, GRID_OWNERS, SUPPLIERS, ForwarderResult
from bench.intake import CONCURRENCY


def others(cpu: dict[str, float]) -> float:
    """CPU seconds of processes this benchmark did not start."""
    return max(0.0, cpu["machine"] - cpu["worker"] - cpu["broker"] - cpu["bench"])


def cpu_note(window: str, seconds: float, cpu: dict[str, float]) -> str:
    used = {**cpu, "other processes": others(cpu)}
    parts = [f"{name} {used[name]:.1f} s ({used[name] / seconds:.0%} of one core)"
             for name in ("worker", "broker", "bench", "other processes")]
    return f"CPU used during the {window} ({seconds:.1f} s, 2 cores): " + ", ".join(parts) + "."


def forwarder_table(r: ForwarderResult, baseline_rate: float) -> Table:
    t = r.timed
    table = Table("Forwarder: one worker, intake topic → outbound → actor queue topics",
                  ["Path", "Series", "Seconds", "Series/s", "Baseline records/s",
                   "straum ÷ baseline", "Target", "Met"])

    def row(label: str, seconds: float | None, target: str, met: bool | None) -> None:
        rate = r.series / seconds if seconds else float("nan")
        table.rows.append([label, num(r.series), num(seconds or float("nan"), 2), num(rate),
                           num(baseline_rate), f"{rate / baseline_rate:.0%}", target,
                           "–" if met is None else ("yes" if met else "**no**")])

    fwd_rate, path_rate = r.series / t.forward_s, r.series / t.path_s
    row("forwarder (intake → outbound), committed offsets", t.forward_s,
        "≥ 50 % of baseline", fwd_rate >= 0.5 * baseline_rate)
    row("whole path to actor queues (intake → queue topics), committed offsets", t.path_s,
        "≥ 3,000 series/s", path_rate >= 3000)
    row("forwarder, by last outbound record's timestamp", t.forward_ts_s, "", None)
    row("whole path, by last queue record's timestamp", t.path_ts_s, "", None)
    tail_s = t.path_s - t.forward_s
    table.notes += [
        "Baseline: raw aiokafka consume-then-produce of the same records in this run.",
        f"The clock starts at the first write of {num(r.series)} pre-encoded series to the "
        f"intake topic (writing them took {t.load_s:.2f} s, while the worker already ran) and "
        f"stops when the worker's consumer group has committed the log end: of the intake "
        f"topic (forwarder), then of the outbound topic (queue writer). Faust commits every "
        f"1 s or 1,000 records, so committed-offset times run up to ~1 s late; the timestamp "
        f"rows show when the last output record was written.",
        f"Each series is 96 PT15M values for one Oslo day, a day not sent before for its "
        f"point ({num(r.points)} points, {GRID_OWNERS} grid owners, {SUPPLIERS} suppliers, "
        f"up to {SUPPLY_DAYS_BACK} days each); each accepted series gives {FAN_OUT} outbound "
        f"records (acknowledgement, supplier's and grid owner's copy). Written: "
        f"{num(t.outbound_records)} outbound and {num(t.queue_records)} queue records "
        f"(expected {num(FAN_OUT * r.series)} each), {t.dead_letters} dead letters.",
        f"When the forwarder had caught up, the queue writer was {num(t.behind_at_forward)} "
        f"outbound records behind and needed {tail_s:.1f} s more "
        f"({num(t.behind_at_forward / tail_s if tail_s > 0 else float('nan'))} records/s "
        f"with the worker to itself).",
        cpu_note("forwarder window", t.forward_s, t.cpu_forward),
        cpu_note("whole-path window", t.path_s, t.cpu_path),
        f"Worker start-up (process start → consumer group Stable): {r.startup_s:.1f} s. "
        f"Before the timed run: {num(r.master_docs)} master-data documents POSTed to the API "
        f"({CONCURRENCY} at a time) and processed by the worker in {r.master_s:.1f} s "
        f"({num(r.master_docs / r.master_s)} documents/s; the worker takes them one at a "
        f"time by design), then one warm-up series per supplier.",
    ]
    return table
