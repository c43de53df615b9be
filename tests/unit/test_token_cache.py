"""A verified token is taken again without its signature checked, but never past its expiry,
never for another Sender, and a tampered copy is a different token."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.http.auth import AuthError, Role, TokenVerifier, issue_dev_token
from schemas.settings import Settings

PARTY = "7080005051286"


def test_taken_again_until_it_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path)
    verifier = TokenVerifier(settings)
    token = "Bearer " + issue_dev_token(settings, PARTY, ["supplier"], ttl_seconds=60)
    first = verifier.verify(token, None)
    assert first.roles == frozenset({Role.SUPPLIER})
    calls = []
    monkeypatch.setattr(verifier, "_verify", lambda *a: calls.append(a))
    assert verifier.verify(token, PARTY) == first and calls == []  # no signature check
    with pytest.raises(AuthError) as wrong_sender:
        verifier.verify(token, "7080005051293")
    assert wrong_sender.value.code == "sender.mismatch"
    later = time.time() + 61  # past the token's exp: its signature and claims are checked
    monkeypatch.setattr(time, "time", lambda: later)
    verifier.verify(token, None)
    assert len(calls) == 1


def test_a_tampered_copy_is_checked(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    verifier = TokenVerifier(settings)
    token = "Bearer " + issue_dev_token(settings, PARTY, ["supplier"])
    verifier.verify(token, None)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthError):
        verifier.verify(tampered, None)
