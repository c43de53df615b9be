"""The HTTP benchmark's tables: intake capacity, and latency to pollable."""

from __future__ import annotations

from bench.common import Table, num, percentile
from bench.latency import CONCURRENCY, EMPTY_SLEEP_S, PER_DOCUMENT, LatencyResult

TARGET_MS = 1000.0  # HTTP intake → pollable for the supplier, p99


def capacity_table(r: LatencyResult, produce_rate: float) -> Table:
    table = Table("API intake capacity: POST /v1/metering-values, one API process",
                  ["Documents", "Series/POST", "Seconds", "POST/s", "Series/s",
                   "Baseline records/s", "straum ÷ baseline"])
    for c in r.capacity:
        series_rate = c.posts * c.series_per_post / c.seconds
        table.rows.append([num(c.posts), str(c.series_per_post), num(c.seconds, 2),
                           num(c.posts / c.seconds), num(series_rate), num(produce_rate),
                           f"{series_rate / produce_rate:.0%}"])
    table.notes += [
        f"Closed loop: {CONCURRENCY} concurrent clients, each POSTing its next document as "
        "soon as the previous one is answered 202 (durable in the intake topic), while the "
        "worker processes the series and two suppliers poll them.",
        "Baseline: raw aiokafka produce of the same records (acks=all, idempotent) in this "
        "run.",
    ]
    return table


def latency_table(r: LatencyResult, ack_ms: list[float], consume_ms: list[float]) -> Table:
    p = r.posted
    table = Table(f"Latency: HTTP intake → pollable, {r.rate} series/s for {r.seconds:.0f} s",
                  ["Measure", "p50 ms", "p99 ms", "max ms", "Count", "Baseline p50 ms",
                   "Baseline p99 ms", "Target", "Met"])

    def row(label: str, values: list[float], base: list[float] | None,
            target_ms: float | None = None) -> None:
        p99 = percentile(values, 99)
        met = "–" if target_ms is None else (
            "yes" if p99 < target_ms and not p.missing else "**no**")
        table.rows.append([label, num(percentile(values, 50), 1), num(p99, 1),
                           num(max(values, default=float("nan")), 1), num(len(values)),
                           num(percentile(base, 50), 1) if base else "–",
                           num(percentile(base, 99), 1) if base else "–",
                           f"p99 < {num(target_ms)} ms" if target_ms else "", met])

    row("POST → 202, durable at intake (baseline: send → acknowledged)", p.http_ms, ack_ms)
    row("202 → first seen by the supplier's poll (intake → pollable)", p.pollable_ms, None)
    row("POST → first seen by the supplier's poll (baseline: send → consumed)",
        p.end_to_end_ms, consume_ms, TARGET_MS)
    row("a supplier's poll that returns messages: request → answer", r.poll_ms, None)
    table.notes += [
        f"{num(p.sent // PER_DOCUMENT)} documents of {PER_DOCUMENT} series (96 values each) "
        f"POSTed on a fixed schedule (open loop) of {r.rate / PER_DOCUMENT:g} documents/s; "
        f"sending took {p.send_s:.1f} s; {p.failed} documents failed; {p.missing} accepted "
        "series were not seen by a supplier within 60 s.",
        "Two suppliers poll their metering-values queue (max 500) in a loop, acknowledge "
        f"each poll and sleep {EMPTY_SLEEP_S * 1000:.0f} ms on an empty queue, so an idle "
        "queue adds up to that much to 'first seen'.",
        "Baseline: raw aiokafka single records at the same rate (read_committed consumer), "
        "from the baseline run.",
        "Pollable: the worker commits the series' queue records in a Kafka transaction with "
        "its input offsets; the API reads queue topics read_committed, so a message is "
        "pollable once that transaction is committed.",
    ]
    return table
