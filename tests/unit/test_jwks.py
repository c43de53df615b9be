"""Production tokens: verification against a JWKS served over HTTP, key rotation included.

A real HTTP server on 127.0.0.1 serves the key set; PyJWKClient fetches it as it would an
identity provider's. PyJWKClient's clock (``time.monotonic`` in its modules) is replaced by one
the tests move forward, so cache lifespans and refresh cooldowns are tested without waiting.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import jwt.api_jwk
import jwt.jwk_set_cache
import jwt.jwks_client
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from connectors.http.auth import AuthError, Caller, Role, TokenVerifier, issue_dev_token
from schemas.settings import Settings

PARTY = "7080005051286"

# PyJWKClient's defaults as TokenVerifier configures it (connectors/http/auth.py).
CACHE_LIFESPAN = 300  # the fetched key set is used for this long
REFRESH_COOLDOWN = 30  # an unknown kid refetches the set at most this often


@dataclass
class Jwks:
    """The key set the server answers with (change ``keys`` to rotate) and its fetch count."""

    url: str
    keys: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0
    status: int = 200
    body: bytes | None = None  # served as is instead of the key set when set


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    state = Jwks(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches += 1
            body = state.body if state.body is not None else \
                json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """PyJWKClient's clock, to move past cache lifespans and refresh cooldowns."""
    fake = Clock()
    for module in (jwt.jwks_client, jwt.jwk_set_cache, jwt.api_jwk):
        monkeypatch.setattr(module, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    return fake


@pytest.fixture
def verifier(tmp_path: Path, jwks: Jwks) -> TokenVerifier:
    return TokenVerifier(Settings(data_dir=tmp_path, jwks_url=jwks.url, jwks_issuer=ISSUER))


ISSUER = "https://idp.example"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    """The public half of ``key`` as a JWKS entry."""
    if isinstance(key, rsa.RSAPrivateKey):
        entry = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        entry["alg"] = "RS256"
    else:
        entry = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        entry["alg"] = "ES256"
    entry.update(kid=kid, use="sig")
    return entry


def token(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str,
          **overrides: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": PARTY, "roles": ["supplier"], "aud": "straum",
                                 "iss": ISSUER, "iat": now, "nbf": now,
                                 "exp": now + 120}
    claims.update(overrides)
    algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    encoded = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})
    return f"Bearer {encoded}"


def refusal(verifier: TokenVerifier, authorization: str) -> AuthError:
    with pytest.raises(AuthError) as err:
        verifier.verify(authorization, None)
    return err.value


SUPPLIER = Caller(PARTY, frozenset({Role.SUPPLIER}))


def test_rs256_token_signed_by_a_jwks_key_is_accepted(verifier: TokenVerifier,
                                                       jwks: Jwks) -> None:
    k1 = rsa_key()
    jwks.keys = [jwk(k1, "k1")]
    assert verifier.verify(token(k1, "k1"), PARTY) == SUPPLIER
    # The key set is cached: a second token costs no fetch.
    assert verifier.verify(token(k1, "k1"), None) == SUPPLIER
    assert jwks.fetches == 1


def test_es256_jwks_key(verifier: TokenVerifier, jwks: Jwks) -> None:
    e1, k1 = ec_key(), rsa_key()
    jwks.keys = [jwk(k1, "k1"), jwk(e1, "e1")]
    assert verifier.verify(token(e1, "e1"), None) == SUPPLIER
    assert verifier.verify(token(k1, "k1"), None) == SUPPLIER


def test_rotation_published_ahead_needs_no_restart(verifier: TokenVerifier, jwks: Jwks,
                                                   clock: Clock) -> None:
    """The usual rotation: the provider publishes k2 beside k1 before it signs with k2, and
    drops k1 later. Tokens of either key are accepted throughout; k1's stop when it is gone."""
    k1, k2 = rsa_key(), rsa_key()
    jwks.keys = [jwk(k1, "k1")]
    assert verifier.verify(token(k1, "k1"), None) == SUPPLIER

    jwks.keys = [jwk(k1, "k1"), jwk(k2, "k2")]
    clock.advance(CACHE_LIFESPAN + 1)
    assert verifier.verify(token(k2, "k2"), None) == SUPPLIER
    assert verifier.verify(token(k1, "k1"), None) == SUPPLIER

    jwks.keys = [jwk(k2, "k2")]
    clock.advance(CACHE_LIFESPAN + 1)
    assert verifier.verify(token(k2, "k2"), None) == SUPPLIER
    # A key dropped from the set (rotated out or revoked) is no longer trusted.
    assert refusal(verifier, token(k1, "k1")).code == "token.invalid"


def test_abrupt_rotation_is_picked_up_after_the_refresh_cooldown(
        verifier: TokenVerifier, jwks: Jwks, clock: Clock) -> None:
    """The provider swaps k1 for k2 at once. An unknown kid makes PyJWKClient refetch the set,
    but at most once per cooldown (30 s since the last fetch, the first one included), so a
    k2 token in that window is refused; after it k2 is fetched and accepted, k1 refused."""
    k1, k2 = rsa_key(), rsa_key()
    jwks.keys = [jwk(k1, "k1")]
    assert verifier.verify(token(k1, "k1"), None) == SUPPLIER

    jwks.keys = [jwk(k2, "k2")]
    clock.advance(REFRESH_COOLDOWN - 5)
    early = refusal(verifier, token(k2, "k2"))
    assert (early.status, early.code) == (401, "token.invalid")
    assert jwks.fetches == 1  # no refetch inside the cooldown

    clock.advance(10)
    assert verifier.verify(token(k2, "k2"), None) == SUPPLIER
    assert jwks.fetches == 2
    assert refusal(verifier, token(k1, "k1")).code == "token.invalid"


def test_unknown_kid_is_refused(verifier: TokenVerifier, jwks: Jwks) -> None:
    k1, other = rsa_key(), rsa_key()
    jwks.keys = [jwk(k1, "k1")]
    error = refusal(verifier, token(other, "k9"))
    assert error.status == 401
    assert error.code.startswith("token.")
    # Unknown kids cannot make straum hammer the provider: one refetch per cooldown.
    fetches = jwks.fetches
    for _ in range(5):
        assert refusal(verifier, token(other, "k9")).status == 401
    assert jwks.fetches == fetches


def test_token_without_kid_is_refused(verifier: TokenVerifier, jwks: Jwks) -> None:
    k1 = rsa_key()
    jwks.keys = [jwk(k1, "k1")]
    now = int(time.time())
    encoded = jwt.encode({"sub": PARTY, "aud": "straum", "iat": now, "exp": now + 60}, k1,
                         algorithm="RS256")
    error = refusal(verifier, f"Bearer {encoded}")
    assert error.status == 401
    assert error.code.startswith("token.")


def test_signed_by_another_key_claiming_a_known_kid(verifier: TokenVerifier,
                                                    jwks: Jwks) -> None:
    k1 = rsa_key()
    jwks.keys = [jwk(k1, "k1"), jwk(ec_key(), "e1")]
    error = refusal(verifier, token(rsa_key(), "k1"))
    assert (error.status, error.code) == (401, "token.invalid")
    # Same for an ES256 token naming an EC key of the set.
    error = refusal(verifier, token(ec_key(), "e1"))
    assert (error.status, error.code) == (401, "token.invalid")
    # And for a token whose algorithm does not fit the named key's type.
    error = refusal(verifier, token(ec_key(), "k1"))
    assert (error.status, error.code) == (401, "token.invalid")


def test_jwks_claims_are_checked_like_dev_tokens(verifier: TokenVerifier, jwks: Jwks) -> None:
    k1 = rsa_key()
    jwks.keys = [jwk(k1, "k1")]
    now = int(time.time())
    assert refusal(verifier, token(k1, "k1", exp=now - 10)).code == "token.expired"
    assert refusal(verifier, token(k1, "k1", aud="elsewhere")).code == "token.invalid"
    assert refusal(verifier, token(k1, "k1", sub="7080005051280")).code == "token.subject"


def test_jwks_tokens_must_name_the_configured_issuer(verifier: TokenVerifier,
                                                      jwks: Jwks, tmp_path: Path) -> None:
    """Finding 6 of issue 20: the issuer was never checked."""
    k1 = rsa_key()
    jwks.keys = [jwk(k1, "k1")]
    for wrong in ("https://elsewhere.example", "straum-dev", ""):
        error = refusal(verifier, token(k1, "k1", iss=wrong))
        assert (error.status, error.code) == (401, "token.issuer")
    without = token(k1, "k1")
    claims = jwt.decode(without.removeprefix("Bearer "), options={"verify_signature": False})
    del claims["iss"]
    unsigned = jwt.encode(claims, k1, algorithm="RS256", headers={"kid": "k1"})
    assert refusal(verifier, f"Bearer {unsigned}").code == "token.issuer"
    # Without a configured issuer, no identity-provider token is trusted.
    unconfigured = TokenVerifier(Settings(data_dir=tmp_path, jwks_url=jwks.url))
    error = refusal(unconfigured, token(k1, "k1"))
    assert (error.status, error.code) == (401, "token.issuer")


def test_dev_tokens_are_refused_once_a_jwks_is_configured(tmp_path: Path,
                                                          verifier: TokenVerifier,
                                                          jwks: Jwks) -> None:
    """Production trusts the identity provider only: whoever can read the dev key could
    otherwise act as any party."""
    jwks.keys = [jwk(rsa_key(), "k1")]
    dev = issue_dev_token(Settings(data_dir=tmp_path), PARTY, ["supplier"])
    error = refusal(verifier, f"Bearer {dev}")
    assert (error.status, error.code) == (401, "token.untrusted_key")
    assert jwks.fetches == 0


def test_dev_tokens_beside_the_jwks_when_asked_for(tmp_path: Path, jwks: Jwks) -> None:
    jwks.keys = [jwk(rsa_key(), "k1")]
    verifier = TokenVerifier(Settings(data_dir=tmp_path, jwks_url=jwks.url, jwks_issuer=ISSUER,
                                          dev_tokens=True))
    dev = issue_dev_token(Settings(data_dir=tmp_path), PARTY, ["supplier"])
    assert verifier.verify(f"Bearer {dev}", PARTY) == SUPPLIER
    assert jwks.fetches == 0  # the dev key is local: no fetch


@pytest.mark.parametrize("trouble", ["http 500", "not json", "no signing keys", "down"])
def test_an_unusable_jwks_endpoint_is_a_401_not_a_500(tmp_path: Path, jwks: Jwks,
                                                      trouble: str) -> None:
    k1 = rsa_key()
    jwks.keys = [jwk(k1, "k1")]
    url = jwks.url
    if trouble == "http 500":
        jwks.status = 500
    elif trouble == "not json":
        jwks.body = b"<html>maintenance</html>"
    elif trouble == "no signing keys":
        jwks.keys = [{**jwk(k1, "k1"), "use": "enc"}]
    else:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}/jwks"
    verifier = TokenVerifier(Settings(data_dir=tmp_path, jwks_url=url, jwks_issuer=ISSUER))
    error = refusal(verifier, token(k1, "k1"))
    assert error.status == 401
    assert error.code.startswith("token.")


def test_connection_reset_while_reading_the_jwks_is_a_401(tmp_path: Path) -> None:
    """PyJWKClient wraps errors of connecting, but not a reset while reading the body."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve_half_and_reset() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"keys\": [")
        time.sleep(0.1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # linger 0: RST instead of FIN

    thread = threading.Thread(target=serve_half_and_reset, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/jwks"
        verifier = TokenVerifier(Settings(data_dir=tmp_path, jwks_url=url, jwks_issuer=ISSUER))
        error = refusal(verifier, token(rsa_key(), "k1"))
        assert (error.status, error.code) == (401, "token.invalid")
    finally:
        thread.join(5)
        listener.close()
