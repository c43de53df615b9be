"""Request dependencies shared by every route module: the caller and the intake service.

The intake service is always there and asks for its Kafka parts only once a document is known
valid, so a bad document is answered 400 whatever the broker's state. Other routes ask
``Services`` for the one part they need (``ready_queues()``, ``ready_ops()``, ...) after their
own checks, for the same reason: a part not yet connected is a 503 with Retry-After, which must
not come before a 400, 403 or a hand-over to the actor's owning process."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.requests import HTTPConnection
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from connectors.http.auth import Caller
from connectors.http.intake_service import IntakeService
from connectors.http.problems import Problem
from connectors.http.services import Services
from connectors.http.tracing import note_actor


class DeclaredBearer(HTTPBearer):
    """The bearer scheme as /openapi.json declares it; reading the header is the verifier's
    (FastAPI's own reading built a credentials model per request that nothing used)."""

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        return None


bearer = DeclaredBearer(
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
    services = services_of(request)
    caller: Caller = services.verifier.verify(request.headers.get("authorization"), sender)
    note_actor(request, caller.party)
    if (wait := services.rate_limiter.retry_after(caller.party)) is not None:
        raise Problem(429, "rate.limited", "Too many requests",
                      f"this actor may send {services.rate_limiter.rate:g} requests per second",
                      headers={"Retry-After": str(wait)})
    return caller


Authenticated = Annotated[Caller, Depends(current_caller)]


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def intake_service(request: Request) -> IntakeService:
    return services_of(request).intake


Intake = Annotated[IntakeService, Depends(intake_service)]
