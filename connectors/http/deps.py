"""Request dependencies shared by every route module."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from connectors.http.auth import Caller


def current_caller(request: Request, authorization: Annotated[str | None, Header()] = None,
                   sender: Annotated[str | None, Header()] = None) -> Caller:
    """The authenticated caller of a request (401/403 otherwise)."""
    verifier = request.app.state.services.verifier
    caller: Caller = verifier.verify(authorization, sender)
    return caller


Authenticated = Annotated[Caller, Depends(current_caller)]
