"""What limits the forwarder's figures, written under the tables when a target is missed (or
with ``--profile``): this run's own measurements, then the profile of the worker."""

from __future__ import annotations

import os

from bench.baseline import FAN_OUT, Baseline
from bench.common import num
from bench.forwarder import ForwarderResult
from bench.forwarder_report import TARGET_RATE, TARGET_SHARE
from bench.profiling import Profile


def targets_missed(fwd: ForwarderResult, baseline_rate: float) -> bool:
    return fwd.rate < TARGET_SHARE * baseline_rate or fwd.rate < TARGET_RATE


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
    t, raw = fwd.timed, base.transacted
    share = fwd.rate / raw.rate
    in_run = fwd.worker_cpu / t.path_s
    machine = t.cpu["machine"] / t.path_s
    lines = [
        "## What limits the forwarder",
        "",
        f"Targets: one worker {share:.0%} of the raw transactional loop (target ≥ 50 %), "
        f"{num(fwd.rate)} series/s (target ≥ {num(TARGET_RATE)}).",
        "",
        "Measured in this run:",
        "",
        f"- The worker used {fwd.worker_cpu / fwd.series * 1000:.2f} ms of CPU per series, "
        f"about {fwd.worker_cpu / (FAN_OUT * fwd.series) * 1e6:.0f} µs per queue record "
        f"written; it was busy {in_run:.0%} of one core during the timed run: "
        + busy_note(in_run, machine) + f". The broker used "
        f"{t.cpu['broker'] / t.path_s:.0%} of a core; the machine has "
        f"{os.cpu_count()} cores.",
        f"- The raw loop (same consumer settings, same transactions, same records written, "
        f"no decoding or routing) moved {num(raw.rate)} series/s with "
        f"{raw.cpu_s / raw.inputs * 1000:.2f} ms of client CPU per input; the difference is the "
        f"worker's own work per record: decoding the series, routing it on the point's "
        f"state, rendering three JSON messages, the state change, and the engine's "
        f"bookkeeping around them.",
        "",
    ]
    if profile is not None:
        lines += [f"A separate pass of {num(profiled_series)} series with the worker under "
                  "cProfile (start-up, master data and warm-up included; cProfile inflates "
                  "pure-Python parts against C) shows where the worker's CPU goes:", "",
                  profile.parts.markdown(), profile.functions.markdown()]
        lines += [
            f"In that pass the engine took {profile.share('straum engine'):.0%}, aiokafka "
            f"{profile.share('aiokafka'):.0%}, the asyncio loop "
            f"{profile.share('asyncio'):.0%}, Avro {profile.share('Avro'):.0%}, orjson "
            f"{profile.share('orjson', 'queue JSON'):.0%} (with the JSON rendering around "
            f"it), the domain rules {profile.share('domain'):.0%} and the processors "
            f"{profile.share('straum processors'):.0%} of the worker's CPU.",
            "",
        ]
    return lines
