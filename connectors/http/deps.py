"""Request dependencies shared by every route module."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from connectors.http.auth import Caller
from connectors.http.problems import Problem
from connectors.http.tracing import note_actor

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", bearerFormat="JWT",
    description="A JWT whose subject (sub) is the caller's GLN and whose roles claim says what "
                "it may do: the identity provider's, or in development one from "
                "`straum token --party GLN --role ROLE`.")
"""Declares the bearer scheme in /openapi.json (the Authorize button of /docs); the token
itself is checked by :class:`connectors.http.auth.TokenVerifier`."""


async def current_caller(request: Request,
                         _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
                         sender: Annotated[str | None, Header(
                             description="The sending actor's GLN; when given, it must be the "
                                         "token's subject")] = None) -> Caller:
    """The authenticated caller of a request (401/403 otherwise). A coroutine: FastAPI runs a
    plain function dependency in a thread pool, a hand-over that cost more than the check
    (a verified token is a dictionary lookup, connectors/http/auth.py)."""
    services = request.app.state.services
    caller: Caller = services.verifier.verify(request.headers.get("authorization"), sender)
    note_actor(request, caller.party)
    if (wait := services.rate_limiter.retry_after(caller.party)) is not None:
        raise Problem(429, "rate.limited", "Too many requests",
                      f"this actor may send {services.rate_limiter.rate:g} requests per second",
                      headers={"Retry-After": str(wait)})
    return caller


Authenticated = Annotated[Caller, Depends(current_caller)]
