"""Moving in (BRS-NO-102/103) and out (BRS-NO-201), and the switch with consent, as pure rules;
then the consent and master-data processors on in-memory tables, without a broker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.consent import (
    AuthorizationSet,
    GrantStatus,
    RequestType,
    answer_request,
    check_new_request,
    create_request,
)
from domain.metering_point import MOVE_OUT, EndUser, SupplyPeriod
from domain.moving import Consent, move_in, move_out, switch
from domain.routing import route_series
from processors.consent import Consent as ConsentProcessor
from processors.consent import grant_id_of
from processors.master_data import MasterData, ProcessRules
from processors.tables import Tables
from schemas.settings import Settings
from streams.engine import Context, Incoming, Table
from streams.serialisation import (
    AUTHORIZATION,
    AUTHORIZATION_COMMAND,
    AUTHORIZATION_REPLY,
    MASTER_DATA_EVENT,
    codec,
)
from streams.topics import TopicCatalogue
from tests.unit.builders import GRID_OWNER, POINT_ID, gln, metering_point, oslo_midnight

A, B = gln("708000000002"), gln("708000000003")
KARI, OLA = "15076500565", "01010050053"
NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
TODAY = date(2026, 6, 10)
NO_CONSENT = Consent(None, None, None, None)


def lived_in(by: str = A, person: str = KARI, start: date = date(2026, 1, 1)) -> Any:
    return replace(metering_point(), supplies=(
        SupplyPeriod(by, start, "in-0", EndUser("Kari", person)),))


def documents(messages: list[Any]) -> list[tuple[str, str]]:
    return [(m.recipient, m.document_type) for m in messages]


def reason_codes(outcome: Any) -> list[str]:
    return [r.code for r in outcome.reasons]


def moving(current: Any, start: date, person: str = OLA, by: str = B, message: str = "in-1",
           consent: Consent = NO_CONSENT) -> Any:
    return move_in(current, message_id=message, sender=by, start_date=start,
                   metering_point_id=POINT_ID, end_user=EndUser("Ola", person), consent=consent,
                   now=NOW, today=TODAY, max_backdating_days=30, max_days_ahead=60)


def test_a_move_in_ahead_is_brs_no_102_and_tells_the_grid_owner_and_the_old_supplier() -> None:
    done = moving(lived_in(), TODAY + timedelta(days=3))
    outcome = done.outcome
    assert outcome.reasons == []
    assert documents(outcome.messages) == [
        (B, "Acknowledgement"), (B, "ConfirmStartOfSupply"),
        (GRID_OWNER, "NotifyStartOfSupply"), (A, "NotifyEndOfSupply")]
    confirm, notify = outcome.messages[1].payload, outcome.messages[2].payload
    assert (confirm["process"], confirm["previousSupplier"]) == ("BRS-NO-102", A)
    assert notify["endUser"] == {"name": "Ola", "nationalId": OLA}
    assert "endUser" not in confirm
    assert outcome.state.end_user_on(TODAY + timedelta(days=3)).national_id == OLA
    assert outcome.state.end_user_on(TODAY).national_id == KARI
    assert outcome.state.supplies[-1].process == "BRS-NO-102"


def test_a_backdated_move_in_is_brs_no_103_and_a_vacant_point_has_no_old_supplier() -> None:
    empty = metering_point()
    done = moving(empty, TODAY - timedelta(days=2)).outcome
    assert done.messages[1].payload["process"] == "BRS-NO-103"
    assert (A, "NotifyEndOfSupply") not in documents(done.messages)
    assert done.messages[1].payload["previousSupplier"] is None


def test_move_in_rules() -> None:
    point = lived_in()
    assert reason_codes(moving(point, TODAY - timedelta(days=31)).outcome) == [
        "move_in.backdated"]
    assert reason_codes(moving(point, TODAY + timedelta(days=61)).outcome) == [
        "move_in.too_far_ahead"]
    assert reason_codes(moving(point, date(2026, 1, 1)).outcome) == [
        "move_in.backdated", "supply.overlap"]
    assert reason_codes(moving(point, TODAY, person=KARI).outcome) == ["move_in.same_end_user"]
    assert reason_codes(moving(None, TODAY).outcome) == ["metering_point.unknown"]
    # the point's own supplier may keep it for the new end user
    assert moving(point, TODAY, by=A).outcome.reasons == []


def test_the_same_move_in_again_gives_the_same_answer() -> None:
    first = moving(lived_in(), TODAY).outcome
    again = moving(first.state, TODAY).outcome
    assert again.reasons == [] and again.state == first.state
    assert [m.message_id for m in again.messages] == [m.message_id for m in first.messages]


def leaving(current: Any, end: date, by: str = A, message: str = "out-1") -> Any:
    return move_out(current, message_id=message, sender=by, end_date=end,
                    metering_point_id=POINT_ID, now=NOW, today=TODAY, min_days_ahead=1,
                    max_days_ahead=4)


def test_a_move_out_leaves_the_point_vacant_from_its_end_date() -> None:
    end = TODAY + timedelta(days=2)
    outcome = leaving(lived_in(), end)
    assert outcome.reasons == []
    assert documents(outcome.messages) == [
        (A, "Acknowledgement"), (A, "ConfirmEndOfSupply"), (GRID_OWNER, "NotifyEndOfSupply")]
    assert outcome.messages[2].payload["process"] == "BRS-NO-201"
    state = outcome.state
    assert state.supplier_on(end - timedelta(days=1)) == A
    assert state.supplier_on(end) is None and state.end_user_on(end) is None
    assert state.supplies[-1].process == MOVE_OUT
    # values of a day across the end: the supplier gets the day before, the grid owner both
    deliveries = route_series(state, oslo_midnight(end - timedelta(days=1)),
                              oslo_midnight(end + timedelta(days=1)), "PT1H")
    assert [(d.recipient, d.start, d.stop) for d in deliveries] == [
        (A, oslo_midnight(end - timedelta(days=1)), oslo_midnight(end)),
        (GRID_OWNER, oslo_midnight(end - timedelta(days=1)),
         oslo_midnight(end + timedelta(days=1)))]


def test_move_out_rules_follow_brs_no_201s_window_for_interval_metered_points() -> None:
    point = lived_in()
    assert reason_codes(leaving(point, TODAY)) == ["move_out.too_late"]
    assert reason_codes(leaving(point, TODAY - timedelta(days=3))) == ["move_out.too_late"]
    assert reason_codes(leaving(point, TODAY + timedelta(days=5))) == ["move_out.too_early"]
    assert leaving(point, TODAY + timedelta(days=1)).reasons == []
    assert leaving(point, TODAY + timedelta(days=4)).reasons == []
    assert reason_codes(leaving(point, TODAY + timedelta(days=2), by=B)) == [
        "move_out.not_supplier"]
    assert reason_codes(leaving(metering_point(), TODAY + timedelta(days=2))) == [
        "move_out.no_supply"]
    gone = leaving(point, TODAY + timedelta(days=2)).state
    assert reason_codes(leaving(gone, TODAY + timedelta(days=3), message="out-2")) == [
        "move_out.no_supply"]
    assert reason_codes(leaving(gone, TODAY + timedelta(days=1), message="out-3")) == [
        "supply.overlap"]
    assert leaving(gone, TODAY + timedelta(days=2)).reasons == []  # the same one again


def test_after_a_move_out_someone_moves_in_and_gets_the_values_of_their_days() -> None:
    end = TODAY + timedelta(days=2)
    gone = leaving(lived_in(), end).state
    ola = moving(gone, end + timedelta(days=1)).outcome
    assert ola.reasons == [] and ola.messages[1].payload["previousSupplier"] is None
    state = ola.state
    assert [state.supplier_on(end + timedelta(days=d)) for d in (-1, 0, 1)] == [A, None, B]


# Consent in the processes ---------------------------------------------------------------------

def a_grant(kind: RequestType, by: str = B, person: str = OLA) -> Any:
    meta = {"requestedBy": by, "requestedFrom": person, "requestedTo": person,
            "requestedFromName": "Ola", "requestedForMeteringPointId": POINT_ID,
            "requestedForMeteringPointAddress": "Storgata 1", "balanceSupplierName": "B",
            "balanceSupplierContractName": "Spot"}
    new, _ = check_new_request(kind.value, meta, by, TODAY)
    assert new is not None
    _, grant = answer_request(create_request("r", new, NOW, 28), "Accepted", person, NOW,
                              "g-1", 12)
    return grant


def test_a_move_in_for_a_person_needs_a_move_in_grant_and_uses_it_up() -> None:
    required = date(2025, 1, 1)
    refused = moving(lived_in(), TODAY, consent=Consent(None, None, None, required))
    assert reason_codes(refused.outcome) == ["consent.missing"]
    assert refused.outcome.state is None and refused.grant is None
    grant = a_grant(RequestType.MOVE_IN)
    done = moving(lived_in(), TODAY, consent=Consent("g-1", grant, None, required))
    assert done.outcome.reasons == [] and done.grant is not None
    assert done.grant.status == GrantStatus.EXHAUSTED and done.grant.used_by == "in-1"
    # refused for another reason: the grant is not used
    early = moving(lived_in(), TODAY - timedelta(days=40),
                   consent=Consent("g-1", grant, None, required))
    assert reason_codes(early.outcome) == ["move_in.backdated"] and early.grant is None
    # both kinds of reason at once
    wrong = moving(lived_in(), TODAY - timedelta(days=40),
                   consent=Consent("g-1", a_grant(RequestType.CHANGE_OF_SUPPLIER), None,
                                   required))
    assert reason_codes(wrong.outcome) == ["move_in.backdated", "consent.grant_wrong_type"]


def test_an_organisation_needs_no_consent_and_a_switch_needs_a_switch_grant() -> None:
    company = EndUser("Kari AS", None, "974760673")
    done = switch(lived_in(), message_id="s-1", sender=B, start_date=TODAY,
                  metering_point_id=POINT_ID, end_user=company,
                  consent=Consent(None, None, None, date(2025, 1, 1)), now=NOW, today=TODAY)
    assert done.outcome.reasons == []
    grant = a_grant(RequestType.CHANGE_OF_SUPPLIER, person=KARI)
    person = switch(lived_in(), message_id="s-2", sender=B, start_date=TODAY,
                    metering_point_id=POINT_ID, end_user=EndUser("Kari", KARI),
                    consent=Consent("g-1", grant, None, date(2025, 1, 1)), now=NOW, today=TODAY)
    assert person.outcome.reasons == [] and person.grant is not None
    assert person.outcome.state.end_user_on(TODAY) == EndUser("Kari", KARI)


# The processors, on in-memory tables ---------------------------------------------------------

CATALOGUE = TopicCatalogue(prefix="t", partitions=1, replication=1, queue_retention_days=90)


def tables() -> tuple[Tables, dict[str, Table[Any]]]:
    spec = Tables.of(CATALOGUE)
    return spec, {s.name: Table(s, 1 << 20) for s in spec.all()}


def commit(held: dict[str, Table[Any]]) -> None:
    for table in held.values():
        table.end_record(keep=True)
        table.end_batch(keep=True)


def command(**fields: Any) -> Incoming:
    value = codec(AUTHORIZATION_COMMAND).encode({
        "correlationId": "c-" + fields["action"], "meteringPointId": POINT_ID,
        "receivedAt": NOW, **fields})
    return Incoming(CATALOGUE.authorization_commands, 0, 0, POINT_ID.encode(), value, 0)


def test_request_answer_and_use_of_a_grant_through_the_processors() -> None:
    spec, held = tables()
    key = POINT_ID.encode()
    held["metering-points"].put(key, lived_in())
    commit(held)
    consent = ConsentProcessor(CATALOGUE, spec, Settings(_env_file=None))  # type: ignore[call-arg]
    ctx = Context(NOW, 0, held)
    outputs = consent.handle(command(
        action="create", requestId="req-1", caller=B,
        requestType=RequestType.CHANGE_OF_SUPPLIER.value, requestedBy=B, requestedFrom=KARI,
        requestedTo=KARI, requestedFromName="Kari", meteringPointAddress="Storgata 1",
        balanceSupplierName="B", balanceSupplierContractName="Spot"), ctx)
    assert [o.topic for o in outputs] == [CATALOGUE.authorizations,
                                          CATALOGUE.authorization_replies]
    assert codec(AUTHORIZATION).decode(outputs[0].value)["status"] == "Pending"
    commit(held)
    outputs = consent.handle(command(action="answer", requestId="req-1", caller=KARI,
                                     status="Accepted"), ctx)
    reply = codec(AUTHORIZATION_REPLY).decode(outputs[-1].value)
    assert reply["errorCode"] is None
    assert [i["kind"] for i in reply["items"]] == ["request", "grant"]
    grant_id = grant_id_of("req-1")
    assert reply["items"][1]["id"] == grant_id
    commit(held)
    # someone else answering: not found for them, nothing changes
    refused = consent.handle(command(action="answer", requestId="req-1", caller=OLA,
                                     status="Rejected"), ctx)
    assert [o.topic for o in refused] == [CATALOGUE.authorization_replies]
    assert (codec(AUTHORIZATION_REPLY).decode(refused[0].value)["errorCode"]
            == "authorization_request_not_found")

    master_data = MasterData(CATALOGUE, spec, lambda: None, ProcessRules())
    document = {"messageId": "switch-1", "sender": B, "senderRole": "supplier",
                "meteringPointId": POINT_ID, "receivedAt": NOW,
                "document": ("no.straum.masterdata.StartOfSupply", {
                    "startDate": TODAY + timedelta(days=1), "endUserName": "Kari",
                    "endUserNationalId": KARI, "authorizationGrantId": grant_id})}
    record = Incoming(CATALOGUE.master_data, 0, 3, key,
                      codec(MASTER_DATA_EVENT).encode(document), 0)
    outputs = master_data.handle(record, ctx)
    view = [codec(AUTHORIZATION).decode(o.value) for o in outputs
            if o.topic == CATALOGUE.authorizations]
    assert [(v["id"], v["status"], v["usedBy"]) for v in view] == [
        (grant_id, "Exhausted", "switch-1")]
    stored: AuthorizationSet = held["authorizations"].get(key)
    assert stored.grant(grant_id).status == GrantStatus.EXHAUSTED  # same transaction
    assert held["metering-points"].get(key).supplier_on(TODAY + timedelta(days=1)) == B
    commit(held)
    # the same document processed again (after a crash): the same answer, nothing used twice
    again = master_data.handle(record, ctx)
    assert [o.topic for o in again if o.topic == CATALOGUE.authorizations] == []
    acks = [o for o in again if b"Acknowledgement" in (o.value or b"")]
    assert acks and b'"accepted"' in acks[0].value
