"""The simulator against a real straum: register a small population, send a day, and every
supplier (and grid owner) finds one message per point in its metering-values queue."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta

from connectors.simulator import (
    DevClients,
    oslo_today,
    plan_population,
    queue_depths,
    register,
    send_day,
)
from tests.integration.conftest import Straum


async def test_simulator_registers_and_sends_a_day(straum: Straum) -> None:
    population = plan_population(random.randrange(10**9), 20, 3, 4)
    day = oslo_today() - timedelta(days=1)
    async with DevClients(straum.base_url, straum.settings) as clients:
        registered = await register(population, clients, supply_start=day - timedelta(days=2),
                                    settle_timeout=90, quiet=True)
        assert (registered.accepted, registered.errors) == (40, 0), registered.error_samples
        assert any(p.national_id for p in population.points)  # persons moved in with consent
        assert registered.settled, (
            f"the hub did not process the registrations; see {straum.log_dir}/worker.log")
        # The hub accepted every point: a rejected one gets no values forwarded (issue 21).
        assert registered.rejected == 0, registered.rejection_samples

        sent = await send_day(population, day, clients, batch_size=3, concurrency=4,
                              quiet=True)
        assert sent.errors == 0, sent.error_samples
        assert sent.series == sent.series_accepted == 20
        assert sent.accepted == sent.documents > 1
        assert len(sent.latencies) == sent.documents

        expected = {(s, "supplier"): n for s, n in population.points_per_supplier().items()}
        expected |= {(g, "grid_owner"): len(points)
                     for g, points in population.points_of_grid_owner().items()}
        deadline = time.monotonic() + 90
        while True:
            depths = {key: await queue_depths(clients(*key), "metering-values")
                      for key in expected}
            if depths == expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert depths == expected

        again = await send_day(population, day, clients, batch_size=3, concurrency=4,
                               quiet=True)
        assert (again.accepted, again.duplicates) == (0, sent.documents)

        # registering again changes nothing: persons live there already, the rest duplicates
        twice = await register(population, clients, supply_start=day - timedelta(days=2),
                               settle_timeout=None, quiet=True)
        assert (twice.accepted, twice.errors, twice.duplicates) == (0, 0, 40), \
            twice.error_samples


async def test_simulator_reports_the_documents_the_hub_rejected(straum: Straum) -> None:
    """A start of supply backdated too far is refused by the API at once (400) and a move-in
    backdated too far is accepted (202) and rejected by the hub; the simulator says which,
    with the reason, instead of counting either as processed."""
    population = plan_population(random.randrange(10**9), 3, 1, 1, third_parties=0)
    persons = sum(point.national_id is not None for point in population.points)
    async with DevClients(straum.base_url, straum.settings) as clients:
        registered = await register(population, clients,
                                    supply_start=oslo_today() - timedelta(days=40),
                                    settle_timeout=90, quiet=True)
    assert (registered.accepted, registered.errors, registered.settled) == \
        (3 + persons, 3 - persons, True), registered.error_samples
    assert registered.rejected == persons
    assert all(sample.startswith("/v1/start-of-supply ") and "supply.backdated" in sample
               for sample in registered.error_samples), registered.error_samples
    assert all(sample.startswith("/v1/move-in ") and "move_in.backdated" in sample
               for sample in registered.rejection_samples), registered.rejection_samples
