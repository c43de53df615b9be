"""``straum simulate`` and ``straum run --demo``: plan, wait for the API, register, send a day,
and follow on (the command line itself is straum/cli.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import date, timedelta

import httpx
from rich.console import Console

from connectors.simulator.client import DevClients
from connectors.simulator.console import _console, _say
from connectors.simulator.load_profile import oslo_today
from connectors.simulator.population import Population, plan_population
from connectors.simulator.traffic import follow, register, send_day
from schemas.settings import Settings


async def wait_ready(base_url: str, within: float | None, console: Console) -> bool:
    """Wait until ``/readyz`` answers 200 (forever when ``within`` is None)."""
    deadline = None if within is None else time.monotonic() + within
    next_note = time.monotonic() + 15
    async with httpx.AsyncClient(base_url=base_url, timeout=5.0) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if time.monotonic() >= next_note:
                _say(console, f"waiting for {base_url}/readyz ...")
                next_note = time.monotonic() + 30
            await asyncio.sleep(1.0)


async def _simulate(population: Population, day: date, follow_on: bool, rate: float | None,
                    base_url: str, settings: Settings, batch_size: int, concurrency: int,
                    quiet: bool, console: Console) -> int:
    if not await wait_ready(base_url, None if follow_on else 30.0, console):
        console.print(f"straum: error: no ready straum API at {base_url} "
                      "(is `straum run` up, and is --url right?)")
        return 1
    _say(console, f"{population.describe()}")
    if population.third_parties:
        _say(console, f"{len(population.third_parties)} third parties "
                      "planned; the simulator sends nothing for them (it does not play "
                      "third-party access yet)")
    supply_start = day - timedelta(days=2)
    if (oslo_today() - supply_start).days > 14:
        _say(console, f"warning: a start of supply on {supply_start} is "
                      "backdated more than 14 days and is refused (400): suppliers get no "
                      f"values for {day} (grid owners still do)")
    async with DevClients(base_url, settings) as clients:
        registered = await register(population, clients, supply_start=supply_start,
                                    concurrency=concurrency, quiet=quiet, console=console)
        _say(
            console, f"registration and start of supply: {registered.accepted} "
            f"accepted, {registered.duplicates} duplicates, {registered.errors} errors in "
            f"{registered.seconds:.1f} s"
            + ("" if registered.settled else " (the hub had not processed all of them in time)")
            + (f"; the hub rejected {registered.rejected}" if registered.rejected else ""))
        for sample in [*registered.error_samples[:3], *registered.rejection_samples[:3]]:
            _say(console, f"  {sample}")
        sent = await send_day(population, day, clients, batch_size=batch_size,
                              concurrency=concurrency, rate=None if follow_on else rate,
                              quiet=quiet, console=console)
        _say(console, f"sent {sent.summary()}")
        for sample in sent.error_samples[:3]:
            _say(console, f"  {sample}")
        if sent.duplicates:
            _say(console, "duplicates: this seed and day were sent before; "
                          "pass another --seed or --day for new traffic")
        if follow_on:
            _say(console, f"following: corrections at "
                          f"{rate or 1.0:g} series/s, a morning batch per new day; "
                          "Ctrl-C or SIGTERM stops")
            await follow(population, clients, day,
                         rate=rate or 1.0, batch_size=batch_size, concurrency=concurrency,
                         console=console)
    return 0 if registered.errors == registered.rejected == sent.errors == 0 else 1


def main(points: int, grid_owners: int, suppliers: int, day: date | None, follow: bool,
         rate: float | None, seed: int, base_url: str, settings: Settings, *,
         third_parties: int = 3, batch_size: int = 50, concurrency: int = 32,
         quiet: bool = False) -> int:
    """``straum simulate``: plan, register, send ``day`` (default yesterday in Oslo), and with
    ``follow`` keep a trickle going until SIGTERM/SIGINT. Returns the exit code."""
    console = _console()
    for chatty in ("httpx", "httpcore"):  # a line per request otherwise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if rate is not None and rate <= 0:
        console.print("straum: error: --rate must be positive")
        return 2
    try:
        population = plan_population(seed, points, grid_owners, suppliers, third_parties)
    except ValueError as exc:
        console.print(f"straum: error: {exc}")
        return 2
    value_day = day or oslo_today() - timedelta(days=1)

    async def run() -> int:
        loop = asyncio.get_running_loop()
        work = asyncio.create_task(_simulate(population, value_day, follow, rate,
                                             base_url.rstrip("/"), settings, batch_size,
                                             concurrency, quiet, console))
        stopped_by: list[str] = []

        def stop(name: str) -> None:
            stopped_by.append(name)
            work.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop, sig.name)
        try:
            return await work
        except asyncio.CancelledError:
            if not stopped_by:
                raise
            _say(console, f"stopped ({stopped_by[0]})")
            return 0 if follow else 130
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    return asyncio.run(run())
