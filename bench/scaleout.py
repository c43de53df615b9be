"""``python -m bench.scaleout``: the forwarder benchmark with one and with two worker
processes, on topics with more partitions (12 by default).

The same measurement as bench/forwarder.py (its functions are used as they are): master data
through the API, a warm-up series per supplier, then N series (each a new day for its point)
written straight to the intake topic; the clock runs from the first write until the group has
committed the intake topic's log end, which the worker commits in the same transaction as the
queue records. Beside it, the raw aiokafka consume → transact → produce loop of
bench/baseline.py on topics with the same partitions and the same records. ``make bench`` runs
the same comparison on 6 partitions; this module is for other partition counts.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from bench.baseline import raw_rate
from bench.common import Run, Table, console
from bench.forwarder import run_forwarder
from bench.forwarder_report import forwarder_table
from bench.standalone import main


async def measure(run: Run, args: argparse.Namespace) -> list[Table]:
    series = args.series or (2_000 if run.quick else 20_000)
    sized = replace(run, series=series)
    raw = await raw_rate(sized, "sobase", series, args.partitions)
    console.print(f"scaleout: raw loop {raw.rate:,.0f} series/s")
    results = [await run_forwarder(sized, workers=w, partitions=args.partitions)
               for w in (1, 2)]
    table = forwarder_table(results, raw)
    table.title = (f"Scale-out: intake → actor queue topics with 1 and 2 workers, "
                   f"{args.partitions} partitions")
    table.notes.append(
        "This machine has 2 CPUs for the broker, every worker and the benchmark: a second "
        "worker can at best use the second core, which the broker also needs.")
    return [table]


def extend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--series", type=int, help="series per configuration (default 20000; "
                                              "quick 2000)")
    p.add_argument("--partitions", type=int, default=12,
                   help="partitions of the input topics (default 12)")


if __name__ == "__main__":
    raise SystemExit(main("scaleout", "Scale-out: one and two workers", __doc__, measure,
                          extend=extend))
