"""The master-data processor: applies BRS documents to the metering-points table and sends
acknowledgements and notifications.

The engine commits the new state and the answers in one transaction, so whoever is told
"accepted" finds the state there, and a document processed again after a crash is not seen
twice (the rules are idempotent on the message id besides). Documents of one batch are applied
in order, each against the state the previous ones left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from domain import characteristics, customer_information, moving, third_party
from domain.characteristics import change_characteristics
from domain.consent import AuthorizationSet
from domain.customer_information import update_customer_information
from domain.forwarding import reroute_series
from domain.industry_codes import CodeLists
from domain.messages import Outbound, not_processed
from domain.metering_point import Contact, EndUser, MeteringPoint
from domain.moving import Consent, Processed
from domain.outcome import Outcome
from domain.series import HUB_TIMEZONE
from domain.supply import register_metering_point
from domain.third_party import approve_access, delete_access, request_access
from domain.versions import latest_versions
from processors.consent import view_outputs
from processors.outputs import heartbeat_through, is_heartbeat, queue_outputs
from processors.tables import Tables
from schemas.settings import Settings
from streams.engine import Context, Incoming, Output
from streams.logging import get_logger
from streams.records import master_data
from streams.records import series as intake_series
from streams.records.master_data import MasterDataEvent, document_kind
from streams.topics import TopicCatalogue

log = get_logger(__name__)

CodeListsLookup = Callable[[], CodeLists | None]

#: Documents whose process needs the end user's consent (Access API grants).
CONSENTED = frozenset({"StartOfSupply", "MoveIn"})

#: The document type an acknowledgement names, per master-data record type.
DOCUMENT_TYPES = {
    "MeteringPointRegistration": "RegisterMeteringPoint",
    "StartOfSupply": "StartOfSupply",
    "ChangeOfCharacteristics": characteristics.DOCUMENT,
    "CustomerInformationUpdate": customer_information.DOCUMENT,
    "ThirdPartyAccessRequest": third_party.REQUEST,
    "ThirdPartyAccessApproval": "ApproveAccess",
    "MoveIn": moving.MOVE_IN_DOCUMENT,
    "MoveOut": moving.MOVE_OUT_DOCUMENT,
}


@dataclass(frozen=True)
class ProcessRules:
    """The settings the master-data rules depend on (docs/ARCHITECTURE.md has the choices)."""

    consent_required_from: date | None = date(2025, 1, 1)
    move_in_max_backdating_days: int = 30
    move_in_max_days_ahead: int = 60
    move_out_min_days_ahead: int = 1
    move_out_max_days_ahead: int = 4
    supply_max_days_ahead: int = 60

    @classmethod
    def of(cls, settings: Settings) -> ProcessRules:
        return cls(settings.consent_required_from, settings.move_in_max_backdating_days,
                   settings.move_in_max_days_ahead, settings.move_out_min_days_ahead,
                   settings.move_out_max_days_ahead, settings.supply_start_max_days_ahead)


def _end_user(document: dict[str, Any]) -> EndUser:
    return EndUser(document["endUserName"], document.get("endUserNationalId"),
                   document.get("endUserOrganisationNumber"))


def apply_with_consent(record: MasterDataEvent, current: MeteringPoint | None,
                       consents: AuthorizationSet, moment: datetime,
                       rules: ProcessRules) -> Processed:
    """A switch (BRS-NO-101) or a move-in (BRS-NO-102/103), with the consent it names."""
    kind, document = record["document"]
    name = kind.rsplit(".", 1)[-1]
    grant_id = document.get("authorizationGrantId")
    consent = Consent(grant_id, consents.grant(grant_id) if grant_id else None,
                      document.get("grantMeteringPointId"), rules.consent_required_from)
    common: dict[str, Any] = {"message_id": record["messageId"], "sender": record["sender"],
              "metering_point_id": record["meteringPointId"], "now": moment,
              "today": moment.astimezone(HUB_TIMEZONE).date(), "end_user": _end_user(document),
              "consent": consent, "start_date": document["startDate"]}
    if name == "StartOfSupply":
        return moving.switch(current, max_days_ahead=rules.supply_max_days_ahead, **common)
    return moving.move_in(current, max_backdating_days=rules.move_in_max_backdating_days,
                          max_days_ahead=rules.move_in_max_days_ahead, **common)


def apply(record: MasterDataEvent, current: MeteringPoint | None, moment: datetime,
          code_lists: CodeLists | None, rules: ProcessRules | None = None) -> Outcome:
    """The outcome of one master-data document against the point's current state."""
    kind, document = record["document"]
    common: dict[str, Any] = {"message_id": record["messageId"], "sender": record["sender"],
              "metering_point_id": record["meteringPointId"], "now": moment}
    today = moment.astimezone(HUB_TIMEZONE).date()
    name = kind.rsplit(".", 1)[-1]
    if name == "MeteringPointRegistration":
        return register_metering_point(current, document=document, code_lists=code_lists,
                                       **common)
    if name in CONSENTED:  # without the point's grants: the processor passes them
        return apply_with_consent(record, current, AuthorizationSet(), moment,
                                  rules or ProcessRules()).outcome
    if name == "ChangeOfCharacteristics":
        fields = {k: v for k, v in document.items() if k != "effectiveFrom"}
        return change_characteristics(current, effective_from=document["effectiveFrom"],
                                      fields=fields, today=today, code_lists=code_lists,
                                      **common)
    if name == "CustomerInformationUpdate":
        contacts = [Contact(c["kind"], c["value"], c["purpose"]) for c in document["contacts"]]
        return update_customer_information(current, contacts=contacts, today=today, **common)
    if name == "ThirdPartyAccessRequest":
        if document["action"] == "delete":
            return delete_access(current, **common)
        return request_access(current, valid_from=document["validFrom"],
                              valid_to=document["validTo"], **common)
    if name == "MoveOut":
        rules = rules or ProcessRules()
        return moving.move_out(current, end_date=document["endDate"], today=today,
                               min_days_ahead=rules.move_out_min_days_ahead,
                               max_days_ahead=rules.move_out_max_days_ahead, **common)
    if name == "ThirdPartyAccessApproval":
        return approve_access(current, message_id=record["messageId"],
                              request_id=document["requestId"],
                              metering_point_id=record["meteringPointId"],
                              approver=record["sender"], now=moment)
    raise ValueError(f"unsupported master-data document {kind}")


class MasterData:
    """Handler of the master-data intake topic."""

    name = "master-data"

    def __init__(self, catalogue: TopicCatalogue, tables: Tables,
                 code_lists: CodeListsLookup, rules: ProcessRules | None = None) -> None:
        self.catalogue = catalogue
        self.tables = tables
        self.code_lists = code_lists
        self.rules = rules or ProcessRules()
        self._decode = master_data.decode

    def handle(self, record: Incoming, ctx: Context) -> list[Output]:
        if is_heartbeat(record):
            return [heartbeat_through(self.catalogue, record, ctx.now)]
        document = self._decode(record.value)
        key = document["meteringPointId"].encode()
        points = ctx.table(self.tables.metering_points)
        before = points.get(key)
        extra: list[Output] = []
        if document_kind(document) in CONSENTED:
            consents = ctx.table(self.tables.authorizations)
            held: AuthorizationSet = consents.get(key) or AuthorizationSet()
            processed = apply_with_consent(document, before, held, ctx.now, self.rules)
            outcome = processed.outcome
            if processed.grant is not None and processed.grant != held.grant(
                    processed.grant.id):  # used up in this very transaction
                consents.put(key, held.with_grant(processed.grant))
                extra = view_outputs(self.catalogue, [processed.grant])
        else:
            outcome = apply(document, before, ctx.now, self.code_lists(), self.rules)
        if outcome.state is not None:
            points.put(key, outcome.state)
            if before is not None and changes_routing(before, outcome.state):
                self._reroute_forwarded(key, before, outcome.state, ctx)
        (log.info if outcome.reasons else log.debug)(
            "master-data document handled", message_id=document["messageId"],
                 metering_point=document["meteringPointId"], actor=document["sender"],
                 status="rejected" if outcome.reasons else "accepted",
                 reasons=[r.code for r in outcome.reasons])
        return [*queue_outputs(self.catalogue, outcome.messages), *extra]

    def _reroute_forwarded(self, key: bytes, before: MeteringPoint, after: MeteringPoint,
                           ctx: Context) -> None:
        """Values of the point forwarded before this change go to the recipients it adds."""
        for version in latest_versions(ctx.table(self.tables.series_versions).get(key) or []):
            if version.offset >= 0:
                ctx.lookup(self.catalogue.metering_values, version.offset,
                           partial(self._reroute, before, after, version.version))

    def _reroute(self, before: MeteringPoint, after: MeteringPoint, version: int,
                 record: Incoming | None, ctx: Context) -> list[Output]:
        if record is None:
            log.warning("a forwarded series is no longer stored; not sent to new recipients",
                        metering_point=after.metering_point_id)
            return []
        series = intake_series.decode(record.value)
        messages = reroute_series(before, after, series, version, ctx.now)
        if messages:
            log.info("forwarded series sent to the recipients a change adds",
                     metering_point=after.metering_point_id,
                     transaction_id=series["transactionId"],
                     recipients=sorted({m.recipient for m in messages}))
        return queue_outputs(self.catalogue, messages)

    def reject(self, record: Incoming, reason: str, ctx: Context) -> list[Output]:
        """The sender's rejection of a document that could not be processed."""
        if is_heartbeat(record):
            return []
        document = self._decode(record.value)
        name = document["document"][0].rsplit(".", 1)[-1]
        return queue_outputs(self.catalogue, [
            rejection(document, DOCUMENT_TYPES.get(name, name), reason, ctx.now)])


def changes_routing(before: MeteringPoint, after: MeteringPoint) -> bool:
    """Whether a change can add recipients to values already forwarded."""
    return (before.supplies != after.supplies
            or before.third_party_access != after.third_party_access)


def rejection(document: MasterDataEvent, document_type: str, reason: str,
              now: datetime) -> Outbound:
    return not_processed(original_message_id=document["messageId"],
                         original_document_type=document_type, sender=document["sender"],
                         reason=reason, created_at=now,
                         metering_point_id=document["meteringPointId"])
