"""Master data through straum's API, as the actors send it (which also makes them known)."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.common import progress
from bench.fixtures import RESOLUTION, Market
from bench.probe import Probe
from bench.procs import Processes
from bench.wait import caught_up
from connectors.broker.embedded import free_port
from connectors.http.auth import issue_dev_token
from schemas.settings import Settings
from streams.topics import TopicCatalogue
from tests.helpers import register_point, start_of_supply

CONCURRENCY = 16


def tokens(settings: Settings, market: Market) -> dict[str, str]:
    """A bearer token per actor: grid owners and suppliers."""
    owners = {p.grid_owner for p in market.all_points}
    out = {a: issue_dev_token(settings, a, ["grid_owner"]) for a in owners}
    out.update({a: issue_dev_token(settings, a, ["supplier"]) for a in market.suppliers})
    return out


async def wait_ready(client: httpx.AsyncClient, procs: Processes, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        procs.check()
        try:
            if (await client.get("/readyz", timeout=2)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.3)
    raise TimeoutError(f"the API was not ready within {within:.0f} s")


async def broker_ok(client: httpx.AsyncClient) -> bool:
    """Whether the API's own Kafka clients reach the broker (its /readyz says so even while
    no worker runs, when the whole answer is 503: processors not assigned)."""
    try:
        return bool((await client.get("/readyz")).json().get("broker") == "ok")
    except httpx.HTTPError:
        return False


async def until_broker_ok(client: httpx.AsyncClient, procs: Processes, within: float = 90
                          ) -> None:
    deadline = time.monotonic() + within
    while not await broker_ok(client):
        procs.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the API did not reach the broker within {within:.0f} s")
        await asyncio.sleep(0.2)


async def register_market(client: httpx.AsyncClient, market: Market,
                          token: dict[str, str]) -> None:
    """POST every registration, then every start of supply (same key as its registration,
    so the worker sees them in that order)."""
    gate = asyncio.Semaphore(CONCURRENCY)
    points = market.all_points

    async def send(path: str, actor: str, body: dict[str, object]) -> None:
        async with gate:
            response = await client.post(path, json=body,
                                         headers={"Authorization": f"Bearer {token[actor]}"})
        if response.status_code != 202:
            raise RuntimeError(f"POST {path} answered {response.status_code}: "
                               f"{response.text[:300]}")

    with progress() as bar:
        task = bar.add_task("API: master data POSTed", total=2 * len(points))
        for kind in ("registration", "supply"):
            jobs = [send("/v1/metering-points", p.grid_owner,
                         register_point(p.point_id, RESOLUTION, market.valid_from))
                    if kind == "registration" else
                    send("/v1/start-of-supply", p.supplier,
                         start_of_supply(p.point_id, market.supply_start))
                    for p in points]
            for done in asyncio.as_completed(jobs):
                await done
                bar.advance(task)


def start_api(procs: Processes) -> str:
    """Start ``straum api`` (one process) on a free port; its base URL."""
    port = free_port()
    # one process: the figures are per API process, and the CPU and memory read are its own
    procs.start("api", "api", "--port", str(port), env={"STRAUM_API_PROCESSES": "1"})
    return f"http://127.0.0.1:{port}"


async def load_master_data(settings: Settings, probe: Probe, procs: Processes,
                           client: httpx.AsyncClient, market: Market,
                           catalogue: TopicCatalogue) -> float:
    """POST master data for every point once the API is ready, and wait until the worker has
    processed it; seconds from the first POST."""
    await wait_ready(client, procs)
    started = time.monotonic()
    await register_market(client, market, tokens(settings, market))
    await caught_up(probe, procs, catalogue.master_data, "worker: master data")
    return time.monotonic() - started
