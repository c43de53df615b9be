"""An intake outcome as the HTTP answer, counted once, from the outcome itself.

``accepted`` is 202, ``duplicate`` 200 (nothing processed twice), ``invalid`` 400 problem
details with every problem's code and pointer, ``unavailable`` 503 with Retry-After (the records
are not known to be durable: send the same document again).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from prometheus_client import Counter

from connectors.http.intake_service import Outcome, Result
from connectors.http.problems import Problem
from connectors.http.services import not_durable
from schemas.api import Accepted, BulkAccepted

INTAKE = Counter("straum_intake_documents_total", "Intake documents", ["document", "result"])
INTAKE_SERIES = Counter("straum_intake_series_total", "Series accepted at intake")
INTAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A message id this sender already used: nothing is processed twice",
          "model": Accepted},
    400: {"description": "Structural problems, each with a code and a JSON pointer"},
    413: {"description": "Body over the size limit"},
    503: {"description": "Not accepted: the brokers could not make the records durable in "
                         "time (a broker lost, too few in-sync replicas); send the same "
                         "document again after Retry-After seconds"},
}


def _refused(outcome: Outcome) -> Problem:
    """The Problem of an outcome that is not written (counted)."""
    INTAKE.labels(outcome.document_type, str(outcome.result)).inc()
    if outcome.result is Result.UNAVAILABLE:
        return not_durable(outcome.detail)
    assert outcome.refusal is not None
    problems = outcome.problems
    return Problem(400, outcome.refusal.code, outcome.refusal.title,
                   f"{len(problems)} problem(s) found", problems)


def answer(outcome: Outcome) -> JSONResponse:
    """One document's answer: ``{"messageId", "status"}``, 202 or 200; else a Problem."""
    if outcome.result not in (Result.ACCEPTED, Result.DUPLICATE):
        raise _refused(outcome)
    INTAKE.labels(outcome.document_type, str(outcome.result)).inc()
    accepted = outcome.result is Result.ACCEPTED
    if accepted and outcome.document_type == "metering-values":
        INTAKE_SERIES.inc(outcome.records)
    return JSONResponse({"messageId": outcome.message_id, "status": str(outcome.result)},
                        status_code=202 if accepted else 200)


def answer_bulk(outcome: Outcome) -> JSONResponse:
    """A bulk's answer: each document's status, 202 when any was new (else 200)."""
    if outcome.result not in (Result.ACCEPTED, Result.DUPLICATE):
        raise _refused(outcome)
    accepted = sum(new for _, new in outcome.documents)
    INTAKE.labels(outcome.document_type, "accepted").inc(accepted)
    INTAKE.labels(outcome.document_type, "duplicate").inc(len(outcome.documents) - accepted)
    body = BulkAccepted(documents=[
        {"message_id": message_id, "status": "accepted" if new else "duplicate"}
        for message_id, new in outcome.documents])
    return JSONResponse(body.model_dump(by_alias=True),
                        status_code=202 if outcome.result is Result.ACCEPTED else 200)
