"""The forwarder benchmark's table: one and two workers beside the raw transactional loop."""

from __future__ import annotations

from bench.baseline import FAN_OUT, Transacted
from bench.common import Table, num
from bench.fixtures import SUPPLY_DAYS_BACK
from bench.forwarder import GRID_OWNERS, SUPPLIERS, ForwarderResult
from bench.intake import CONCURRENCY

TARGET_SHARE = 0.5
TARGET_RATE = 3000.0


def others(cpu: dict[str, float]) -> float:
    """CPU seconds of processes this benchmark did not start."""
    ours = sum(v for k, v in cpu.items() if k != "machine")
    return max(0.0, cpu["machine"] - ours)


def cpu_note(label: str, seconds: float, cpu: dict[str, float]) -> str:
    used = {**{k: v for k, v in cpu.items() if k != "machine"},
            "other processes": others(cpu)}
    parts = [f"{name} {sec:.1f} s ({sec / seconds:.0%} of one core)"
             for name, sec in used.items()]
    return f"{label}: CPU used during the timed run ({seconds:.1f} s, 2 cores): " \
        + ", ".join(parts) + "."


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def forwarder_table(results: list[ForwarderResult], base: Transacted) -> Table:
    table = Table("Forwarder: intake topic → actor queue topics, committed",
                  ["Path", "Series", "Seconds", "Series/s", "Queue records/s",
                   "Raw loop series/s", "straum ÷ raw", "Target", "Met"])
    one = results[0]
    for r in results:
        t = r.timed
        share = r.rate / base.rate
        label = (f"{r.workers} worker{'s' if r.workers > 1 else ''}: intake → queue topics, "
                 f"committed (group's committed intake offsets)")
        if r.workers == 1:
            target = f"≥ 50 % of raw; ≥ {num(TARGET_RATE)} series/s"
            ok = share >= TARGET_SHARE and r.rate >= TARGET_RATE
        else:
            target = f"× one worker: {one.timed.path_s / t.path_s:.2f}"
            ok = None
        table.rows.append([label, num(r.series), num(t.path_s, 2), num(r.rate),
                           num(t.queued.records / t.path_s), num(base.rate), f"{share:.0%}",
                           target, "–" if ok is None else met(ok)])
        if t.path_ts_s:
            table.rows.append([f"{r.workers} worker(s), by the newest queue record's "
                               "timestamp", num(r.series), num(t.path_ts_s, 2),
                               num(r.series / t.path_ts_s), "", "", "", "", "–"])
    table.notes += [
        f"Raw loop: raw aiokafka consume → transact → produce in this run (bench/baseline.py "
        f"`transact_through`): {num(base.inputs)} inputs of the same size, {FAN_OUT} outputs "
        f"each of the sizes the worker writes, on topics of the same partition count "
        f"({base.transactions:,} transactions).",
        f"The clock starts at the first write of {num(one.series)} pre-encoded series to the "
        f"intake topic (writing them took {one.timed.load_s:.2f} s, while the workers "
        "already ran) and stops when the workers' consumer group has committed the intake "
        "topic's log end (polled every 50 ms). The worker commits a batch's queue records, "
        "its state changes and its input offsets in one Kafka transaction, so that is when "
        "the last queue record became readable (read_committed). The timestamp rows: the "
        "newest queue record's CreateTime, set when the worker sent it, before its commit.",
        f"Each series is 96 PT15M values for one Oslo day, a day not sent before for its "
        f"point ({num(one.points)} points, {GRID_OWNERS} grid owners, {SUPPLIERS} suppliers, "
        f"up to {SUPPLY_DAYS_BACK} days each); each series gives {FAN_OUT} queue records "
        "(the grid owner's acknowledgement, the supplier's and the grid owner's "
        "notification).",
    ]
    for r in results:
        t, q = r.timed, r.timed.queued
        expected = FAN_OUT * r.series
        verdict = ("as expected" if q.records == expected and q.repeated == 0
                   else "**not as expected**")
        table.notes.append(
            f"{r.workers} worker(s), {r.partitions} partitions: read back from the queue "
            f"topics (read_committed): {num(q.records)} records (expected {num(expected)}), "
            f"{num(q.distinct)} distinct message ids, {num(q.repeated)} repeated — {verdict}; "
            + ", ".join(f"{queue} {num(n)} (mean {num(q.mean_bytes(queue))} B)"
                        for queue, n in sorted(q.by_queue.items()))
            + f"; dead letters {t.dead_letters}.")
        per_series = r.worker_cpu / r.series * 1000
        broker = t.cpu.get("broker", float("nan")) / r.series * 1000
        table.notes.append(cpu_note(f"{r.workers} worker(s)", t.path_s, t.cpu)
                           + f" Per series: worker CPU {per_series:.2f} ms (one core of "
                           f"worker does {num(1000 / per_series)} series/s at that cost), "
                           f"broker CPU {broker:.2f} ms.")
        table.notes.append(
            f"{r.workers} worker(s): start → group Stable {r.startup_s:.1f} s; before the "
            f"timed run {num(r.master_docs)} master-data documents POSTed to the API "
            f"({CONCURRENCY} at a time) and processed in {r.master_s:.1f} s "
            f"({num(r.master_docs / r.master_s)} documents/s), then one warm-up series per "
            "supplier.")
        for line in t.problems:
            table.notes.append(f"{r.workers} worker(s), logged during the timed run: "
                               f"`{line}`")
    return table
