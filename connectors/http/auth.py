"""Who is calling: bearer JWTs whose subject is the caller's GLN and whose ``roles`` claim
says what it may do.

Development tokens are ES256-signed with a key kept in the data directory (``straum token``
prints one); production verifies against a JWKS (RS256/ES256, Maskinporten-style). Only
asymmetric algorithms are accepted, so ``none`` and HS/RS confusion are refused by
construction. Every token must name its issuer (``iss``: ``Settings.token_issuer`` for
development tokens, ``Settings.jwks_issuer`` for the identity provider's) and carry ``roles``
as a list of known role names; anything else is a 401, never a guess.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from domain.identifiers import IdentifierError, validate_gln, validate_national_id
from domain.problem_codes import Code
from schemas.settings import Settings

ALGORITHMS = ["ES256", "RS256"]
DEV_KEY_ID = "straum-dev"


class Role(StrEnum):
    GRID_OWNER = "grid_owner"
    SUPPLIER = "supplier"
    THIRD_PARTY = "third_party"
    OPERATOR = "operator"
    END_USER = "end_user"


@dataclass(frozen=True)
class Caller:
    """An authenticated party: its GLN and the roles its token grants. An end user (a
    person, logged in as on Elhub's Min side) has no GLN: ``party`` is a pseudonym and
    ``national_id`` says who it is (personal data: never logged)."""

    party: str
    roles: frozenset[Role]
    national_id: str | None = None


class AuthError(Exception):
    """401 (who are you) or 403 (not allowed), with a problem code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def load_or_create_dev_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The local development signing key (P-256), created once, readable only by its owner."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return loaded


def end_user_pseudonym(national_id: str) -> str:
    """The subject of an end user's token: stable per person, not the national id (ID-porten
    likewise carries the national id in ``pid``, beside a pseudonymous ``sub``)."""
    return "end-user-" + hashlib.sha256(national_id.encode()).hexdigest()[:20]


def issue_dev_token(settings: Settings, party: str | None, roles: list[str],
                    ttl_seconds: int = 12 * 3600, national_id: str | None = None) -> str:
    """A development token for ``party`` with ``roles``, signed with the local key; for the
    ``end_user`` role, for the person with ``national_id`` instead of a party."""
    for role in roles:
        Role(role)
    now = int(time.time())
    claims: dict[str, Any] = {"roles": roles, "iss": settings.token_issuer,
                              "aud": settings.token_audience, "iat": now, "nbf": now,
                              "exp": now + ttl_seconds, "jti": str(uuid.uuid4())}
    if Role.END_USER in roles:
        if roles != [Role.END_USER] or national_id is None:
            raise IdentifierError("token.end_user", "an end user's token has the role "
                                  "end_user alone and a national id")
        validate_national_id(national_id)
        claims.update(sub=end_user_pseudonym(national_id), pid=national_id)
    else:
        claims["sub"] = validate_gln(party or "")
    key = load_or_create_dev_key(settings.dev_key_path)
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": DEV_KEY_ID})


@dataclass(frozen=True)
class _Verified:
    """A token whose signature was checked: until when it may be taken without a check."""

    expires: float  # its exp
    until: float  # VERIFIED_FOR_S after the check
    party: str
    roles: frozenset[Role]
    kid: str | None  # a JWKS key's id (None: the development key)
    key_numbers: object  # that key's public numbers, to notice a kid given to another key


def _numbers(key: Any) -> object:
    return key.public_numbers() if hasattr(key, "public_numbers") else key


VERIFIED_FOR_S = 60.0
"""How long a verified token is taken without checking its signature again."""
VERIFIED_TOKENS = 10_000
"""Verified tokens remembered per API process (forgotten all at once beyond)."""


class TokenVerifier:
    """Verifies bearer tokens against the dev key and, when configured, a JWKS."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._dev_public = load_or_create_dev_key(settings.dev_key_path).public_key()
        # The key set is cached for 5 minutes; an unknown kid refetches it at most every 30 s
        # (PyJWKClient's cooldown). No per-kid cache (cache_keys): it never expires, so a key
        # dropped from the JWKS (rotated out, revoked) would be accepted until a restart.
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=False,
                                     lifespan=300) if settings.jwks_url else None
        # Tokens already verified: an actor sends many requests with one token, and checking
        # its signature costs more than the rest of a small request's checks. Taken again
        # while unexpired, for VERIFIED_FOR_S at most, and a JWKS token only while its key
        # (kid and key material) is still in the provider's key set.
        self._verified: dict[str, _Verified] = {}

    def _key_for(self, token: str) -> tuple[Any, str, str | None]:
        """The key that must have signed ``token``, and the issuer the token must name."""
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ALGORITHMS:
            raise AuthError(401, "token.algorithm",
                            f"token algorithm {header.get('alg')!r} is not accepted")
        if self._jwks is not None and header.get("kid") != DEV_KEY_ID:
            if self.settings.jwks_issuer is None:
                raise AuthError(401, Code.TOKEN_ISSUER,
                                "no issuer is configured for the identity provider's tokens "
                                "(STRAUM_JWKS_ISSUER)")
            return (self._jwks.get_signing_key_from_jwt(token).key, self.settings.jwks_issuer,
                    str(header.get("kid")))
        if not self.settings.accepts_dev_tokens:
            raise AuthError(401, "token.untrusted_key",
                            "development tokens are not accepted here; use the identity "
                            "provider's token")
        if header.get("alg") != "ES256":
            raise AuthError(401, "token.algorithm",
                            "development tokens are ES256; configure a JWKS for RS256 keys")
        return self._dev_public, self.settings.token_issuer, None

    def verify(self, authorization: str | None, sender: str | None) -> Caller:
        """The caller of a request, or AuthError."""
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError(401, "token.missing", "send 'Authorization: Bearer <token>'")
        token = authorization.removeprefix("Bearer ").strip()
        known = self._verified.get(token)
        if known is not None and self._still_valid(known):
            return self._caller(known.party, known.roles, sender)
        return self._verify(token, sender)

    def _still_valid(self, known: _Verified) -> bool:
        now = time.time()
        if not (now < known.expires and now < known.until):
            return False
        if known.kid is None:  # the development key: it lives as long as the process
            return True
        try:
            assert self._jwks is not None
            current = self._jwks.get_signing_key(known.kid).key
            return bool(_numbers(current) == known.key_numbers)
        except (jwt.PyJWTError, ValueError, TypeError, OSError):
            return False  # the key is gone (or the set cannot be read): verify afresh

    def _caller(self, party: str, roles: frozenset[Role], sender: str | None) -> Caller:
        if sender is not None and sender != party:
            raise AuthError(403, "sender.mismatch",
                            "the Sender header does not match the token's subject")
        return Caller(party, roles)

    def _verify(self, token: str, sender: str | None) -> Caller:
        try:
            key, issuer, kid = self._key_for(token)
            claims = jwt.decode(token, key, algorithms=ALGORITHMS,
                                audience=self.settings.token_audience, issuer=issuer,
                                options={"require": ["exp", "sub", "iat", "iss"]})
        except AuthError:
            raise
        except jwt.InvalidIssuerError as exc:
            raise AuthError(401, Code.TOKEN_ISSUER,
                            "the token's issuer (iss) is not the one this hub trusts") from exc
        except jwt.MissingRequiredClaimError as exc:
            code = Code.TOKEN_ISSUER if exc.claim == "iss" else "token.invalid"
            raise AuthError(401, code, f"the token has no {exc.claim!r} claim") from exc
        except jwt.ExpiredSignatureError as exc:
            raise AuthError(401, "token.expired", "the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError(401, "token.not_yet_valid", "the token is not valid yet") from exc
        except (jwt.PyJWTError, ValueError, TypeError, OSError) as exc:
            # OSError: PyJWKClient wraps errors of connecting to the JWKS, not a connection
            # reset while reading its body
            raise AuthError(401, "token.invalid", f"the token is not valid: {exc}") from exc
        roles_claim = claims.get("roles")
        if isinstance(roles_claim, list) and Role.END_USER.value in roles_claim:
            return end_user_caller(claims, sender)
        try:
            party = validate_gln(str(claims["sub"]))
        except IdentifierError as exc:
            raise AuthError(401, "token.subject", "the token's subject is not a GLN") from exc
        roles = roles_of(claims.get("roles"))
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = _Verified(float(claims["exp"]), time.time() + VERIFIED_FOR_S,
                                          party, roles, kid,
                                          None if kid is None else _numbers(key))
        return self._caller(party, roles, sender)


KNOWN_ROLES = frozenset(r.value for r in Role)


def roles_of(claim: Any) -> frozenset[Role]:
    """The roles a ``roles`` claim grants: it must be a list of known role names (a map, a
    string, null or a nested list is refused, not read leniently)."""
    if not isinstance(claim, list) or not all(
            isinstance(r, str) and r in KNOWN_ROLES for r in claim):
        raise AuthError(401, Code.TOKEN_ROLES,
                        "the token's roles must be a list of role names: "
                        + ", ".join(sorted(KNOWN_ROLES)))
    return frozenset(Role(r) for r in claim)


def end_user_caller(claims: dict[str, Any], sender: str | None) -> Caller:
    """An end user's token: the role alone, and a valid national id in ``pid``."""
    if claims.get("roles") != [Role.END_USER.value]:
        raise AuthError(401, Code.TOKEN_ROLES,
                        "an end user's token has the role end_user alone")
    national_id = claims.get("pid")
    try:
        if not isinstance(national_id, str):
            raise IdentifierError("national_id.format", "pid is a string of 11 digits")
        validate_national_id(national_id)
    except IdentifierError as exc:
        raise AuthError(401, "token.subject",
                        "an end user's token carries a valid national id (pid)") from exc
    if sender is not None:
        raise AuthError(403, "sender.mismatch", "an end user has no Sender (GLN)")
    return Caller(end_user_pseudonym(national_id), frozenset({Role.END_USER}), national_id)


def require(who: Caller, *roles: Role) -> None:
    """403 unless the caller holds one of ``roles``."""
    if not who.roles.intersection(roles):
        raise AuthError(403, "role.forbidden",
                        f"this call needs one of the roles {', '.join(roles)}")
