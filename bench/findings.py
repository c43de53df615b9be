"""What limits the forwarder's figures and what would lift them, written under the tables
when a target is missed: this run's own measurements first, then what the code does."""

from __future__ import annotations

import os

from bench.baseline import QUEUE_TOPICS, Baseline
from bench.common import num
from bench.forwarder import FAN_OUT, ForwarderResult
from bench.profiling import Profile


def targets_missed(fwd: ForwarderResult, baseline_rate: float) -> bool:
    t = fwd.timed
    return fwd.series / t.forward_s < 0.5 * baseline_rate or fwd.series / t.path_s < 3000


def busy_note(share: float, machine: float) -> str:
    """Whether the worker was CPU-bound in a window; ``machine``: cores busy in all."""
    cores = os.cpu_count() or 1
    if share >= 0.85:
        return "CPU-bound, one Python process on one core"
    if machine > 0.85 * cores:
        return (f"the machine was busy ({machine:.1f} of {cores} cores), so this run cannot "
                "tell CPU contention from waiting")
    return f"it waits, with CPU to spare ({machine:.1f} of {cores} cores busy in all)"


def findings(fwd: ForwarderResult, base: Baseline, profile: Profile | None,
             profiled_series: int) -> list[str]:
    t, baseline_rate = fwd.timed, base.pass_rate
    fwd_rate, path_rate = fwd.series / t.forward_s, fwd.series / t.path_s
    tail_s = max(t.path_s - t.forward_s, 1e-9)
    in_fwd = t.cpu_forward["worker"] / t.forward_s
    in_tail = (t.cpu_path["worker"] - t.cpu_forward["worker"]) / tail_s
    machine_fwd = t.cpu_forward["machine"] / t.forward_s
    machine_tail = (t.cpu_path["machine"] - t.cpu_forward["machine"]) / tail_s
    alone = t.behind_at_forward / tail_s
    copied = t.outbound_records - t.behind_at_forward
    idle_writer = base.fan_rate > 2 * alone and in_tail < 0.85
    lines = [
        "## What limits the forwarder, and what would lift it",
        "",
        f"Targets: forwarder {fwd_rate / baseline_rate:.0%} of the consume-then-produce "
        f"baseline (target ≥ 50 %), whole path {num(path_rate)} series/s (target ≥ 3,000).",
        "",
        "Measured in this run:",
        "",
        f"- One worker process does both hops: "
        f"{t.cpu_path['worker'] / fwd.series * 1000:.2f} ms of worker CPU per series over "
        f"the whole path, about {t.cpu_path['worker'] / (2 * FAN_OUT * fwd.series) * 1e6:.0f}"
        f" µs per record produced (each series becomes {FAN_OUT} outbound records, each "
        f"copied once more to a queue topic). The broker used "
        f"{t.cpu_path['broker'] / t.path_s:.0%} of a core; the machine has 2.",
        f"- While the forwarder ran, the worker used {in_fwd:.0%} of one core: "
        + busy_note(in_fwd, machine_fwd) + ".",
        f"- The queue writer, the second hop, copied only {num(copied / t.forward_s)} "
        f"records/s while the forwarder ran (it was {num(t.behind_at_forward)} records "
        f"behind when the forwarder had caught up): both hops share one consumer and one "
        f"event loop. Alone afterwards it copied {num(alone)} records/s "
        f"({num(alone / FAN_OUT)} series/s) with the worker at {in_tail:.0%} of one core: "
        + busy_note(in_tail, machine_tail) + f". Raw aiokafka writes the same pattern (batches "
        f"of 1,000 over {QUEUE_TOPICS} single-partition topics, each awaited in full) at "
        f"{num(base.fan_rate)} records/s (baseline table)"
        + ("; so the broker's acknowledgements are not what the queue writer waits for: the "
           "wait is elsewhere in the worker, presumably in how Faust feeds the agent "
           "(fetching, flow control, commits); not profiled further." if
           base.fan_rate > 2 * alone else "."),
        f"- A supplier's notification on its queue topic is {num(t.queue_record_bytes)} bytes "
        f"against {num(base.record_bytes)} bytes for the intake record it came from; it is "
        "written twice (outbound, then queue topic).",
        "",
    ]
    if profile is not None:
        lines += [f"A separate pass of {num(profiled_series)} series with the worker under "
                  "cProfile (start-up and master data included; cProfile inflates "
                  "pure-Python parts against C) shows where the worker's CPU goes:", "",
                  profile.parts.markdown(), profile.functions.markdown()]
    lines += [
        "What the code does for each series (processors/forwarder.py, queue_writer.py, "
        "output.py):",
        "",
        "- Faust hands over every record as its own event (conductor, stream, event acks, "
        "one future per produced record)"
        + (f"; Faust, aiokafka and the asyncio event loop take "
           f"{profile.share('Faust', 'aiokafka', 'asyncio'):.0%} of the profiled CPU, "
           f"straum's own code {profile.share('straum'):.0%} and Avro "
           f"{profile.share('Avro'):.0%}" if profile else "")
        + ". The baseline is the same client without the per-event machinery.",
        "- Decodes the series, the point's MeteringPointState and its SeriesHistory from "
        "Avro (tables hold bytes), hashes the values, makes three UUIDv5 ids, encodes three "
        "QueueMessages and re-encodes the history.",
        "- QueueMessage carries `qualities` as an array of strings (the intake record uses an "
        "enum), so each notification is nearly twice the size of the values it carries.",
        "",
        "What would lift it (not measured here):",
        "",
        "1. More worker processes: the intake and outbound topics have 6 partitions and "
        "Faust spreads them over the workers of the group; the forwarder work is "
        "per-partition, so throughput should grow with cores until the broker is the limit.",
        "2. Run the queue writer apart from the forwarder (its own process and consumer "
        "group), or drop the outbound hop and write to the queue topics from the forwarder: "
        "today every message is produced twice and consumed twice by one process.",
        "3. A plain aiokafka batch loop (getmany, process, send, await, commit) for the two "
        "hot agents instead of Faust's per-event stream, keeping the same at-least-once "
        "order: the baseline is that loop.",
        ("4. Find out where the queue writer waits (above): with a backlog, and a broker "
         "that acknowledges its write pattern far faster, it should not be idle. Faust's "
         "consumer and stream settings (fetch sizes, stream buffer, the take_events window, "
         "commit interval) are the first place to look." if idle_writer else
         "4. Pipeline batches: take the next batch while the previous one's records are "
         "being acknowledged, committing in order."),
        "5. Smaller, cheaper records: `qualities` as an enum in QueueMessage (a new schema "
        "version), one encode of the shared payload for the supplier's and the grid "
        "owner's copies, and decoded point state cached per point instead of decoded per "
        "series.",
        "",
    ]
    return lines
