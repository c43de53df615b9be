"""Small builders for tests: valid identifiers and documents."""

from __future__ import annotations

import random
import time
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from domain.identifiers import NORWEGIAN_GSRN_PREFIX, gs1_check_digit
from domain.series import HUB_TIMEZONE, expected_point_count


def gsrn(rng: random.Random | None = None) -> str:
    """A random valid Norwegian metering point id."""
    body = NORWEGIAN_GSRN_PREFIX + "".join(str((rng or random).randint(0, 9)) for _ in range(7))
    return body + str(gs1_check_digit(body))


def gln(rng: random.Random | None = None) -> str:
    body = "70800" + "".join(str((rng or random).randint(0, 9)) for _ in range(7))
    return body + str(gs1_check_digit(body))


GRID_AREA = "10YNO-1--------2"


def today() -> date:
    """The hub's date now (Norwegian time), from which tests date their supply and values."""
    return datetime.now(HUB_TIMEZONE).date()


def oslo_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), HUB_TIMEZONE)


def register_point(point: str, resolution: str = "PT1H",
                   valid_from: date = date(2025, 1, 1)) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "meteringPointId": point, "gridArea": GRID_AREA,
            "priceArea": "NO1", "type": "consumption", "resolution": resolution,
            "consumptionCode": "35", "validFrom": valid_from.isoformat()}


def start_of_supply(point: str, start: date) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "meteringPointId": point,
            "startDate": start.isoformat(),
            "endUser": {"name": "Kari Nordmann", "organisationNumber": "974760673"}}


def day_series(point: str, day: date, resolution: str = "PT1H",
               base: float = 0.5) -> dict[str, Any]:
    start, end = oslo_midnight(day), oslo_midnight(day + timedelta(days=1))
    count = expected_point_count(start, end, resolution)
    return {"transactionId": str(uuid.uuid4()), "meteringPointId": point,
            "start": start.isoformat(), "end": end.isoformat(), "resolution": resolution,
            "unit": "kWh",
            "points": [{"quantity": round(base + i / 1000, 3), "quality": "measured"}
                       for i in range(count)]}


def values_document(*series: dict[str, Any]) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "series": list(series)}


def poll_until(client: httpx.Client, queue: str, predicate: Any, timeout: float = 60.0,
               ) -> dict[str, Any]:
    """Poll and acknowledge until a message matching ``predicate`` comes; return it."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        response = client.post(f"/v1/queues/{queue}/poll", params={"max": 100})
        if response.status_code == 204:
            time.sleep(0.3)
            continue
        response.raise_for_status()
        body = response.json()
        for message in body["messages"]:
            seen.append(message["documentType"])
            if predicate(message):
                return message
        client.post(f"/v1/queues/{queue}/ack", json={"pollId": body["pollId"]}).raise_for_status()
    raise AssertionError(f"no matching message in {queue} within {timeout}s; saw {seen}")


def drain(client: httpx.Client, queue: str, settle: float = 3.0) -> list[dict[str, Any]]:
    """Everything the queue delivers until it stays empty for ``settle`` seconds (acked)."""
    messages: list[dict[str, Any]] = []
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < settle:
        response = client.post(f"/v1/queues/{queue}/poll", params={"max": 500})
        if response.status_code == 204:
            time.sleep(0.2)
            continue
        body = response.json()
        messages.extend(body["messages"])
        client.post(f"/v1/queues/{queue}/ack", json={"pollId": body["pollId"]})
        quiet_since = time.monotonic()
    return messages


def national_id(rng: random.Random | None = None) -> str:
    """A random valid (synthetic) fødselsnummer."""
    from connectors.simulator import synthetic_national_id

    return synthetic_national_id(rng or random.Random())


def chromium(tmp_path: Any, *args: str) -> str:
    """Headless Chromium (Debian's package, which make test installs) with ``args``; what it
    prints (``--dump-dom``: the page after its scripts ran)."""
    import shutil
    import subprocess

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is needed: make test installs Debian's chromium package"
    return subprocess.run(
        [found, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'chromium'}",
         *args], capture_output=True, text=True, timeout=120, check=True).stdout
