"""Bearer tokens: who may call, and every way a token can be wrong."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connectors.http.auth import (
    AuthError,
    Role,
    TokenVerifier,
    issue_dev_token,
    load_or_create_dev_key,
)
from schemas.settings import Settings

PARTY = "7080005051286"
OTHER = "7080005051293"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def bearer(token: str) -> str:
    return f"Bearer {token}"


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {"sub": PARTY, "roles": ["supplier"], "aud": "straum",
                               "iss": "straum-dev", "iat": now, "nbf": now, "exp": now + 60}
    base.update(overrides)
    return base


def dev_sign(settings: Settings, **overrides: object) -> str:
    key = load_or_create_dev_key(settings.dev_key_path)
    return jwt.encode(claims(**overrides), key, algorithm="ES256")


def code_of(settings: Settings, authorization: str | None, sender: str | None = None) -> str:
    with pytest.raises(AuthError) as err:
        TokenVerifier(settings).verify(authorization, sender)
    return f"{err.value.status} {err.value.code}"


def test_dev_token_names_party_and_roles(settings: Settings) -> None:
    token = issue_dev_token(settings, PARTY, ["grid_owner", "supplier"])
    caller = TokenVerifier(settings).verify(bearer(token), PARTY)
    assert caller.party == PARTY
    assert caller.roles == {Role.GRID_OWNER, Role.SUPPLIER}


def test_dev_key_is_created_once_and_private(settings: Settings) -> None:
    first = load_or_create_dev_key(settings.dev_key_path)
    second = load_or_create_dev_key(settings.dev_key_path)
    assert first.private_numbers() == second.private_numbers()
    assert settings.dev_key_path.stat().st_mode & 0o077 == 0


def test_missing_token(settings: Settings) -> None:
    assert code_of(settings, None) == "401 token.missing"
    assert code_of(settings, "Basic abc") == "401 token.missing"


def test_expired_and_not_yet_valid(settings: Settings) -> None:
    now = int(time.time())
    assert code_of(settings, bearer(dev_sign(settings, exp=now - 10))) == "401 token.expired"
    assert code_of(settings, bearer(dev_sign(settings, nbf=now + 600))) == \
        "401 token.not_yet_valid"


def test_signed_by_another_key(settings: Settings) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(), stranger, algorithm="ES256")
    assert code_of(settings, bearer(token)) == "401 token.invalid"


def test_algorithm_none_is_refused(settings: Settings) -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    assert code_of(settings, bearer(token)) == "401 token.algorithm"


def test_hmac_signed_with_the_public_key_is_refused(settings: Settings) -> None:
    """HS/RS confusion: an attacker signs HS256 with the (public) verification key."""
    public_pem = load_or_create_dev_key(settings.dev_key_path).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims()).encode())
    signature = b64(hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    assert code_of(settings, bearer(f"{head}.{body}.{signature}")) == "401 token.algorithm"


def test_rs256_token_without_a_jwks_is_refused(settings: Settings) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), key, algorithm="RS256")
    assert code_of(settings, bearer(token)) == "401 token.algorithm"


def test_wrong_audience(settings: Settings) -> None:
    assert code_of(settings, bearer(dev_sign(settings, aud="elsewhere"))) == "401 token.invalid"


def test_subject_must_be_a_gln(settings: Settings) -> None:
    assert code_of(settings, bearer(dev_sign(settings, sub="7080005051280"))) == \
        "401 token.subject"


def test_sender_header_must_match_subject(settings: Settings) -> None:
    token = issue_dev_token(settings, PARTY, ["supplier"])
    assert code_of(settings, bearer(token), sender=OTHER) == "403 sender.mismatch"


@pytest.mark.parametrize("roles", [
    ["admin"], ["supplier", "admin"], {"operator": 1}, "operator", None, 1, [["operator"]],
    [None], [{"role": "operator"}], True,
], ids=repr)
def test_roles_must_be_a_list_of_known_role_names(settings: Settings, roles: object) -> None:
    """Finding 6 of issue 20: ``{"operator": 1}`` granted operator, and null, an int or a
    nested list answered 500. Each is a 401 now."""
    assert code_of(settings, bearer(dev_sign(settings, roles=roles))) == "401 token.roles"


def test_a_token_without_roles_is_refused(settings: Settings) -> None:
    full = claims()
    del full["roles"]
    token = jwt.encode(full, load_or_create_dev_key(settings.dev_key_path), algorithm="ES256")
    assert code_of(settings, bearer(token)) == "401 token.roles"


def test_an_empty_roles_list_is_a_token_that_may_do_nothing(settings: Settings) -> None:
    caller = TokenVerifier(settings).verify(bearer(dev_sign(settings, roles=[])), None)
    assert caller.roles == frozenset()


@pytest.mark.parametrize("issuer", ["someone-else", "", "https://idp.example"])
def test_dev_tokens_must_name_the_dev_issuer(settings: Settings, issuer: str) -> None:
    """Finding 6 of issue 20: a wrong or missing ``iss`` was accepted."""
    assert code_of(settings, bearer(dev_sign(settings, iss=issuer))) == "401 token.issuer"
    full = claims()
    del full["iss"]
    token = jwt.encode(full, load_or_create_dev_key(settings.dev_key_path), algorithm="ES256")
    assert code_of(settings, bearer(token)) == "401 token.issuer"


def test_straum_token_writes_the_issuer_the_api_checks(settings: Settings) -> None:
    token = issue_dev_token(settings, PARTY, ["supplier"])
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == "straum-dev"
    moved = Settings(data_dir=settings.data_dir, token_issuer="straum-test")
    assert code_of(moved, bearer(token)) == "401 token.issuer"
    assert TokenVerifier(moved).verify(bearer(issue_dev_token(moved, PARTY, ["supplier"])),
                                       None).party == PARTY


# End users (the consent pages) ---------------------------------------------------------------

PERSON = "15076500565"


def test_an_end_users_token_names_the_person_not_a_party(settings: Settings) -> None:
    token = issue_dev_token(settings, None, ["end_user"], national_id=PERSON)
    caller = TokenVerifier(settings).verify(bearer(token), None)
    assert caller.roles == {Role.END_USER} and caller.national_id == PERSON
    assert PERSON not in caller.party  # a pseudonym: rate limits and logs never see the id
    again = TokenVerifier(settings).verify(bearer(token), None)
    assert again.party == caller.party


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"roles": ["end_user", "supplier"], "pid": PERSON}, "401 token.roles"),
    ({"roles": ["end_user"]}, "401 token.subject"),
    ({"roles": ["end_user"], "pid": "15076500566"}, "401 token.subject"),
    ({"roles": ["end_user"], "pid": 15076500565}, "401 token.subject"),
    ({"roles": 5}, "401 token.roles"),
    ({"roles": "end_user", "pid": PERSON}, "401 token.roles"),
])
def test_an_end_users_token_that_is_wrong_is_refused(settings: Settings,
                                                    overrides: dict[str, object],
                                                    expected: str) -> None:
    assert code_of(settings, bearer(dev_sign(settings, **overrides))) == expected


def test_an_end_user_has_no_sender_and_cannot_be_issued_with_other_roles(
        settings: Settings) -> None:
    token = dev_sign(settings, roles=["end_user"], pid=PERSON, sub="end-user-x")
    assert code_of(settings, bearer(token), PARTY) == "403 sender.mismatch"
    from domain.identifiers import IdentifierError

    with pytest.raises(IdentifierError):
        issue_dev_token(settings, None, ["end_user", "supplier"], national_id=PERSON)
    with pytest.raises(IdentifierError):
        issue_dev_token(settings, None, ["end_user"])
