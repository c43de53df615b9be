"""The README's walkthrough, run as it is written, against a real straum; and the commands the
README names, run as a newcomer would type them.

The walkthrough block is the ``sh`` block after the README's ``<!-- walkthrough -->`` marker.
It runs with bash from the checkout's root, with ``STRAUM_API`` pointing at this session's API
and ``STRAUM_DATA_DIR`` at its data directory (so that ``straum token`` signs with the key the
API checks); nothing in the block is changed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import poll_until
from tests.integration.conftest import Straum, start_straum

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    marker = text.index("<!-- walkthrough")
    match = re.compile(r"```sh\n(.*?)```", re.S).search(text, marker)
    assert match, "no sh block after the walkthrough marker"
    return match.group(1)


@pytest.fixture(scope="module")
def fresh(kafka_bootstrap: str, session_dir: Path) -> Iterator[Straum]:
    """A straum of its own: the walkthrough's fixed ids must be new to it."""
    running = start_straum(kafka_bootstrap, session_dir / "readme")
    yield running
    running.stop_all()


def test_the_walkthrough_runs_as_written(fresh: Straum) -> None:
    script = walkthrough()
    assert ". .venv/bin/activate" in script and "straum token" in script
    env = {**fresh.env, "STRAUM_API": fresh.base_url}
    done = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    accepted = re.findall(r'\{"messageId":"[^"]+","status":"(\w+)"\}', out)
    assert accepted == ["accepted", "accepted", "accepted"], out
    assert re.search(r"^consent requested: [0-9a-f-]{36}$", out, re.M), out
    assert re.search(r"^consent granted: [0-9a-f-]{36}$", out, re.M), out
    poll = json.loads(out[out.index("{\n"):out.index("\n}\n") + 2])
    [message] = poll["messages"]
    assert message["documentType"] == "NotifyValidatedDataForBillingEnergy"
    payload = message["payload"]
    assert payload["meteringPointId"] == "707057500000000018"
    assert payload["recipientRole"] == "supplier"
    assert [p["quantity"] for p in payload["points"]] == [1.25, 0.75, 0.5]
    last = json.loads(out.strip().splitlines()[-1])
    assert last == {"pollId": poll["pollId"], "status": "acknowledged"}

    # The move-in took the grant: the supplier was told it starts supplying Kari's point.
    supplier = fresh.client("7080005051293", "supplier")
    confirmed = poll_until(supplier, "market-processes",
                           lambda m: m["documentType"] == "ConfirmStartOfSupply")
    assert confirmed["payload"]["meteringPointId"] == "707057500000000018"

    # A second run stops at step 2, as the README says: a duplicate registration, and no
    # second move-in consent for the point's own end user, with the Access API's reason.
    again = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 1
    assert re.findall(r'"status":"(\w+)"', again.stdout) == ["duplicate"], again.stdout
    assert "requested_from_is_metering_point_end_user" in again.stderr, again.stderr


def test_tokens_made_in_another_folder_are_accepted(fresh: Straum, tmp_path: Path) -> None:
    """``straum token`` run from anywhere, with the same (relative or absolute) setting, signs
    with the key of the data directory the API uses."""
    token = subprocess.run([sys.executable, "-m", "straum", "token", "--party",
                            "7080005051293", "--role", "supplier"], cwd=tmp_path, env=fresh.env,
                           capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    answer = httpx.get(f"{fresh.base_url}/v1/queues",
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


def test_a_relative_data_dir_means_the_same_folder_from_anywhere(tmp_path: Path) -> None:
    """Two tokens made from two folders with ``STRAUM_DATA_DIR`` relative verify with one key:
    the one under the checkout's root."""
    from connectors.http.auth import TokenVerifier
    from schemas.settings import Settings

    relative = f"var/test-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAUM_")}
    env["STRAUM_DATA_DIR"] = relative
    try:
        tokens = [subprocess.run([sys.executable, "-m", "straum", "token", "--party",
                                  "7080005051293", "--role", "supplier"], cwd=folder,
                                 env=env, capture_output=True,
                                 text=True, timeout=60, check=True).stdout.strip()
                  for folder in (tmp_path, ROOT / "docs")]
        verifier = TokenVerifier(Settings(data_dir=ROOT / relative))
        for token in tokens:
            assert verifier.verify(f"Bearer {token}", None).party == "7080005051293"
        assert (ROOT / relative / "keys" / "dev-signing-key.pem").exists()
        assert not (tmp_path / "var").exists()
    finally:
        import shutil

        shutil.rmtree(ROOT / relative, ignore_errors=True)
