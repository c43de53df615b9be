"""Request dependencies shared by every route module."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from connectors.http.auth import Caller
from connectors.http.problems import Problem
from connectors.http.tracing import note_actor


def current_caller(request: Request, authorization: Annotated[str | None, Header()] = None,
                   sender: Annotated[str | None, Header()] = None) -> Caller:
    """The authenticated caller of a request (401/403 otherwise)."""
    services = request.app.state.services
    caller: Caller = services.verifier.verify(authorization, sender)
    note_actor(request, caller.party)
    if (wait := services.rate_limiter.retry_after(caller.party)) is not None:
        raise Problem(429, "rate.limited", "Too many requests",
                      f"this actor may send {services.rate_limiter.rate:g} requests per second",
                      headers={"Retry-After": str(wait)})
    return caller


Authenticated = Annotated[Caller, Depends(current_caller)]
