"""The consent processor: the one writer of a metering point's authorization requests and
grants (Elhub's Access API request flow).

Commands from the API arrive keyed by metering point, so they are handled beside the point's
state (the end user a request must name) and beside the master-data processor that uses a
grant up: a grant is checked and exhausted in the same transaction as the switch or move-in it
allows. Each change goes to the table, to the read view the API follows (by id), and as the
answer on the replies topic, all in the batch's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from domain.consent import (
    AuthorizationGrant,
    AuthorizationRequest,
    AuthorizationSet,
    ConsentError,
    NewRequest,
    RequestType,
    answer_request,
    check_against_point,
    create_request,
)
from domain.problem_codes import AccessCode
from domain.series import HUB_TIMEZONE
from processors.tables import Tables
from schemas.settings import Settings
from streams.engine import Context, Incoming, Output
from streams.logging import get_logger
from streams.records import consent as records
from streams.records.consent import AuthorizationCommand, record_of
from streams.topics import TopicCatalogue

log = get_logger(__name__)

GRANT_NAMESPACE = uuid.UUID("0b6f2a47-3c1e-5d8a-b2f4-9e7c1a5d3b21")

Item = AuthorizationRequest | AuthorizationGrant


def grant_id_of(request_id: str) -> str:
    """The id of the grant a request's acceptance creates: stable, so the same answer
    processed again names the same grant."""
    return str(uuid.uuid5(GRANT_NAMESPACE, request_id))


def _given(value: str | None, name: str) -> str:
    """A create command's field, which the API always fills (a command without it is a bug:
    the processor's reject path answers it)."""
    if value is None:
        raise ValueError(f"an authorization create command without {name}")
    return value


def view_outputs(catalogue: TopicCatalogue, items: list[Item]) -> list[Output]:
    """The read view's records (by id) of changed requests and grants."""
    return [Output(catalogue.authorizations, item.id.encode(),
                   records.encode_authorization(item), 0) for item in items]


class Consent:
    """Handler of the authorization-commands topic."""

    name = "consent"

    def __init__(self, catalogue: TopicCatalogue, tables: Tables, settings: Settings) -> None:
        self.catalogue = catalogue
        self.tables = tables
        self.request_days = settings.authorization_request_days
        self.grant_months = settings.authorization_grant_months
        self._decode = records.decode_command

    def handle(self, record: Incoming, ctx: Context) -> list[Output]:
        command = self._decode(record.value)
        key = command["meteringPointId"].encode()
        table = ctx.table(self.tables.authorizations)
        current: AuthorizationSet = table.get(key) or AuthorizationSet()
        try:
            if command["action"] == "create":
                point = ctx.table(self.tables.metering_points).get(key)
                changed: list[Item] = [self._create(command, current, point, ctx.now)]
            else:
                changed = self._answer(command, current, ctx.now)
        except ConsentError as error:
            log.info("authorization command refused", action=command["action"],
                     metering_point=command["meteringPointId"], code=error.code)
            return [self.reply(command["correlationId"], [], error)]
        updated = current
        for item in changed:
            updated = (updated.with_request(item) if isinstance(item, AuthorizationRequest)
                       else updated.with_grant(item))
        table.put(key, updated.pruned(ctx.now))
        log.info("authorization changed", action=command["action"],
                 metering_point=command["meteringPointId"], request=command["requestId"],
                 status=changed[0].status.value)
        return [*view_outputs(self.catalogue, changed),
                self.reply(command["correlationId"], changed, None)]

    def _create(self, command: AuthorizationCommand, current: AuthorizationSet, point: Any,
                now: datetime) -> AuthorizationRequest:
        existing = current.request(command["requestId"])
        if existing is not None:  # the same command again: the same request
            return existing
        new = NewRequest(
            request_type=RequestType(_given(command["requestType"], "requestType")),
            requested_by=_given(command["requestedBy"], "requestedBy"),
            requested_from=_given(command["requestedFrom"], "requestedFrom"),
            requested_to=_given(command["requestedTo"], "requestedTo"),
            requested_from_name=_given(command["requestedFromName"], "requestedFromName"),
            metering_point_id=command["meteringPointId"],
            metering_point_address=_given(command["meteringPointAddress"],
                                          "meteringPointAddress"),
            balance_supplier_name=_given(command["balanceSupplierName"], "balanceSupplierName"),
            balance_supplier_contract_name=_given(command["balanceSupplierContractName"],
                                                  "balanceSupplierContractName"),
            move_in_date=command["moveInDate"])
        if new.requested_by != command["caller"]:
            raise ConsentError(AccessCode.REQUESTED_BY_NOT_CALLER,
                               "requestedBy must be the calling supplier")
        today = now.astimezone(HUB_TIMEZONE).date()
        if (error := check_against_point(new, point, today)) is not None:
            raise error
        return create_request(command["requestId"], new, now, self.request_days)

    def _answer(self, command: AuthorizationCommand, current: AuthorizationSet,
                now: datetime) -> list[Item]:
        request = current.request(command["requestId"])
        if request is None:
            raise ConsentError(AccessCode.AUTHORIZATION_REQUEST_NOT_FOUND,
                               "no such authorization request for you", title="Not found")
        answered, grant = answer_request(request, command["status"], command["caller"], now,
                                         grant_id_of(request.id), self.grant_months)
        return [answered] if grant is None else [answered, grant]

    def reject(self, record: Incoming, reason: str, ctx: Context) -> list[Output]:
        """The API waits for an answer: tell it the command failed."""
        command = self._decode(record.value)
        error = ConsentError(AccessCode.UNEXPECTED_ERROR,
                             f"the hub could not process the request: {reason}")
        return [self.reply(command["correlationId"], [], error)]

    def reply(self, correlation_id: str, items: list[Item], error: ConsentError | None
              ) -> Output:
        value = records.encode_reply({
            "errorCode": error.code if error else None,
            "errorTitle": error.title if error else None,
            "errorDetail": error.detail if error else None,
            "errorPointer": error.pointer if error else None,
            "items": [record_of(item) for item in items]})
        return Output(self.catalogue.authorization_replies, correlation_id.encode(), value, 0)
