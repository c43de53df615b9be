"""Master data on the real broker: supplier switches over time, næringskode rules with
imported code lists, end-user ids, customer information, third-party access, and the
migration report."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.series import HUB_TIMEZONE
from tests.helpers import (
    day_series,
    drain,
    gln,
    gsrn,
    poll_until,
    register_point,
    start_of_supply,
    today,
    values_document,
)
from tests.integration.conftest import Straum, point_with_supplier, start_straum

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "klass"


def cli(straum: Straum, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "straum", *args], env=straum.env, text=True,
                          capture_output=True, timeout=120, check=False)


def import_code_lists(straum: Straum) -> None:
    """The test fixture's KLASS exports, imported as an operator would."""
    result = cli(straum, "codes", "import",
                 "--sn2007", str(FIXTURES / "sn2007-codes.csv"),
                 "--sn2025", str(FIXTURES / "sn2025-codes.csv"),
                 "--correspondence", str(FIXTURES / "sn2007-sn2025-correspondence.csv"))
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout
    time.sleep(2)  # the worker follows the reference-data topic


@pytest.fixture(scope="module")
def code_lists(straum: Straum) -> None:
    import_code_lists(straum)


@pytest.fixture
def december_2025(kafka_bootstrap: str, session_dir: Path) -> Iterator[Straum]:
    """A straum of its own whose worker decides as on 1 December 2025, when SN2007 codes were
    still taken: the way points came to carry the codes the migration lists are about."""
    moment = datetime(2025, 12, 1, 12, tzinfo=HUB_TIMEZONE)
    offset = (moment - datetime.now(HUB_TIMEZONE)).total_seconds()
    running = start_straum(kafka_bootstrap, session_dir / "december-2025", partitions=2,
                           extra_env={"STRAUM_CLOCK_OFFSET_SECONDS": str(offset)})
    try:
        import_code_lists(running)
        yield running
    finally:
        running.stop_all()


def reasons_for(client: httpx.Client, message_id: str) -> list[dict[str, Any]]:
    ack = poll_until(client, "market-processes",
                     lambda m: m["payload"].get("originalMessageId") == message_id
                     and m["documentType"] == "Acknowledgement")
    reasons: list[dict[str, Any]] = ack["payload"]["reasons"]
    return reasons


def test_supplier_switch_moves_the_next_days_values_not_yesterdays(straum: Straum) -> None:
    point, go, old, _ = point_with_supplier(straum, today() - timedelta(days=10))
    new = straum.client(gln(), "supplier")
    assert new.post("/v1/start-of-supply",
                    json=start_of_supply(point, today())).status_code == 202
    poll_until(new, "market-processes", lambda m: m["documentType"] == "ConfirmStartOfSupply")
    yesterday = day_series(point, today() - timedelta(days=1))
    today_s = day_series(point, today())
    assert go.post("/v1/metering-values",
                   json=values_document(yesterday, today_s)).status_code == 202
    assert [m["payload"]["transactionId"] for m in drain(old, "metering-values")] == [
        yesterday["transactionId"]]
    assert [m["payload"]["transactionId"] for m in drain(new, "metering-values")] == [
        today_s["transactionId"]]


def test_sn2007_code_is_refused_from_2026_and_sn2025_accepted_and_notified(
        straum: Straum, code_lists: None) -> None:
    point, go, supplier, _ = point_with_supplier(straum, today() - timedelta(days=5))
    old = {"messageId": str(uuid.uuid4()), "meteringPointId": point,
           "effectiveFrom": "2026-02-01", "industryCode": "62.010"}
    assert go.post("/v1/master-data", json=old).status_code == 202
    [reason] = reasons_for(go, old["messageId"])
    assert reason["code"] == "industry_code.sn2007_expired"
    assert "62.100" in reason["text"]
    new = dict(old, messageId=str(uuid.uuid4()), industryCode="62.100")
    assert go.post("/v1/master-data", json=new).status_code == 202
    assert reasons_for(go, new["messageId"]) == []
    notice = poll_until(supplier, "market-processes",
                        lambda m: m["documentType"] == "NotifyMeteringPointCharacteristics")
    assert notice["payload"]["industryCode"] == "62.100"
    assert notice["payload"]["effectiveFrom"] == "2026-02-01"
    # A change by someone who is not the grid owner is refused.
    other = straum.client(gln(), "grid_owner")
    intruding = dict(new, messageId=str(uuid.uuid4()), consumptionCode="36")
    assert other.post("/v1/master-data", json=intruding).status_code == 202
    assert [r["code"] for r in reasons_for(other, intruding["messageId"])] == [
        "sender.not_grid_owner"]


def test_bad_master_data_is_a_400_with_pointers(straum: Straum) -> None:
    go = straum.client(gln(), "grid_owner")
    response = go.post("/v1/master-data", json={
        "messageId": str(uuid.uuid4()), "meteringPointId": gsrn(),
        "effectiveFrom": "2026-02-01", "industryCode": "6201", "consumptionCode": "99"})
    assert response.status_code == 400
    assert {(p["code"], p["pointer"]) for p in response.json()["problems"]} == {
        ("industry_code.format", "/industryCode"), ("consumption_code.unknown",
                                                    "/consumptionCode")}
    empty = go.post("/v1/master-data", json={"messageId": str(uuid.uuid4()),
                                             "meteringPointId": gsrn(),
                                             "effectiveFrom": "2026-02-01"})
    assert empty.json()["problems"][0]["code"] == "master_data.empty"


@pytest.mark.parametrize("national_id, accepted", [
    ("55058810036", True),   # D-nummer (first digit + 4)
    ("15058810050", True),   # valid only under the 2032 rule
    ("15058810042", True),   # an ordinary fødselsnummer
    ("55058810000", False),  # fails k1 under both rules
])
def test_end_user_ids_under_both_check_digit_rules(straum: Straum, national_id: str,
                                                   accepted: bool) -> None:
    from domain.identifiers import IdentifierError, NationalIdRule, validate_national_id

    try:
        check = validate_national_id(national_id)
        valid = True
        if national_id == "15058810050":
            assert check.rules == {NationalIdRule.RULE_2032}
        if national_id.startswith("5"):
            assert check.kind == "d-nummer"
    except IdentifierError:
        valid = False
    assert valid == accepted, "the test's numbers must be what they say"
    supplier = straum.client(gln(), "supplier")
    body = start_of_supply(gsrn(), today())
    body["endUser"] = {"name": "Kari Nordmann", "nationalId": national_id}
    response = supplier.post("/v1/start-of-supply", json=body)
    if accepted:
        assert response.status_code == 202, response.text
    else:
        assert response.status_code == 400
        [problem] = response.json()["problems"]
        assert (problem["code"], problem["pointer"]) == ("national_id.k1",
                                                        "/endUser/nationalId")


def test_customer_information_reaches_the_grid_owner(straum: Straum) -> None:
    point, go, supplier, _ = point_with_supplier(straum, today() - timedelta(days=2))
    body = {"messageId": str(uuid.uuid4()), "meteringPointId": point, "contacts": [
        {"kind": "mobile", "value": "+4791234567", "purpose": "contract"},
        {"kind": "email", "value": "kari@example.no", "purpose": "contract"}]}
    assert supplier.post("/v1/customer-information", json=body).status_code == 202
    notice = poll_until(go, "market-processes",
                        lambda m: m["documentType"] == "NotifyCustomerInformation")
    assert notice["payload"]["contacts"] == body["contacts"]
    # No notification contact: notifications fall back to the contract contacts.
    assert notice["payload"]["notificationContacts"] == body["contacts"]
    bad = dict(body, messageId=str(uuid.uuid4()), contacts=[
        {"kind": "phone", "value": "91234567", "purpose": "notification"},
        {"kind": "email", "value": "kari(at)example.no", "purpose": "contract"}])
    response = supplier.post("/v1/customer-information", json=bad)
    assert response.status_code == 400
    assert {p["pointer"] for p in response.json()["problems"]} == {"/contacts/0/value",
                                                                  "/contacts/1/value"}
    stranger = straum.client(gln(), "supplier")
    refused = dict(body, messageId=str(uuid.uuid4()))
    assert stranger.post("/v1/customer-information", json=refused).status_code == 202
    assert [r["code"] for r in reasons_for(stranger, refused["messageId"])] == [
        "sender.not_supplier"]


def test_third_party_receives_only_after_approval_and_until_deletion(straum: Straum) -> None:
    point, go, _, _ = point_with_supplier(straum, today() - timedelta(days=5))
    party = gln()
    third = straum.client(party, "third_party")
    operator = straum.client("7080005051286", "operator")
    request = {"messageId": str(uuid.uuid4()), "meteringPointId": point, "action": "add"}
    assert third.post("/v1/third-party-access", json=request).status_code == 202
    poll_until(third, "market-processes",
               lambda m: m["payload"].get("status") == "pending_approval")
    before = day_series(point, today() - timedelta(days=3))
    assert go.post("/v1/metering-values", json=values_document(before)).status_code == 202
    approval = {"messageId": str(uuid.uuid4()), "meteringPointId": point}
    assert operator.post(f"/v1/third-party-access/{request['messageId']}/approval",
                         json=approval).status_code == 202
    poll_until(third, "market-processes", lambda m: m["payload"].get("status") == "granted")
    # Values sent while access is active, for a period inside it, reach the third party.
    during = day_series(point, today())
    assert go.post("/v1/metering-values", json=values_document(during)).status_code == 202
    received = drain(third, "metering-values")
    assert [m["payload"]["transactionId"] for m in received] == [during["transactionId"]]
    assert received[0]["payload"]["recipientRole"] == "third_party"
    # Deleting access ends it at once.
    delete = {"messageId": str(uuid.uuid4()), "meteringPointId": point, "action": "delete"}
    assert third.post("/v1/third-party-access", json=delete).status_code == 202
    poll_until(third, "market-processes", lambda m: m["payload"].get("status") == "revoked")
    after = day_series(point, today() + timedelta(days=1))
    assert go.post("/v1/metering-values", json=values_document(after)).status_code == 202
    time.sleep(3)
    assert drain(third, "metering-values") == []


def test_sn2007_code_is_refused_from_2026_even_for_a_point_valid_from_2025(
        straum: Straum, code_lists: None) -> None:
    go = straum.client(gln(), "grid_owner")
    body = register_point(gsrn(), valid_from=date(2025, 6, 1))
    body["industryCode"] = "62.010"
    assert go.post("/v1/metering-points", json=body).status_code == 202
    [reason] = reasons_for(go, body["messageId"])
    assert reason["code"] == "industry_code.sn2007_expired"
    assert "62.100" in reason["text"]


def test_migration_report_lists_exactly_the_points_with_old_codes(
        december_2025: Straum) -> None:
    straum = december_2025
    owner = gln()
    go = straum.client(owner, "grid_owner")
    old_a, old_b, new = gsrn(), gsrn(), gsrn()
    for point, code in ((old_a, "62.010"), (old_b, "35.111"), (new, "62.100")):
        body = register_point(point, valid_from=date(2025, 6, 1) if code != "62.100"
                              else date(2025, 10, 1))
        body["industryCode"] = code
        body["consumptionCode"] = "19"
        assert go.post("/v1/metering-points", json=body).status_code == 202
        assert reasons_for(go, body["messageId"]) == []
    result = cli(straum, "codes", "report")
    assert result.returncode == 0, result.stderr
    rows = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["gridOwner"] == owner]
    assert {(r["meteringPointId"], r["sn2007Code"]) for r in rows} == {
        (old_a, "62.010"), (old_b, "35.111")}
    [split] = [r for r in rows if r["sn2007Code"] == "35.111"]
    assert split["sn2025Candidates"].split() == ["35.121", "35.160"]
    # The same list for the ops page, and for the grid owner itself.
    for client in (straum.client("7080005051286", "operator"), go):
        listed = client.get("/v1/ops/industry-code-migration").json()
        [mine] = [g for g in listed["gridOwners"] if g["gridOwner"] == owner]
        assert mine["points"] == 2
    assert straum.client(gln(), "supplier").get(
        "/v1/ops/industry-code-migration").status_code == 403


def test_no_personal_data_in_any_log_line(straum: Straum) -> None:
    """Every log line the processes wrote so far, scanned for the ids and contacts used."""
    secrets = ["55058810036", "15058810050", "15058810042", "+4791234567", "kari@example.no"]
    logs = list(straum.log_dir.glob("*.log"))
    assert logs
    for path in logs:
        text = path.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, f"{secret} in {path.name}"


def test_type_migration_changes_the_mapped_points_and_notifies(straum: Straum,
                                                               tmp_path: Path) -> None:
    owner = gln()
    go = straum.client(owner, "grid_owner")
    supplier_id = gln()
    supplier = straum.client(supplier_id, "supplier")
    solar, other = gsrn(), gsrn()
    for point, production in ((solar, "solar-old"), (other, "wind")):
        body = register_point(point)
        body["productionType"] = production
        assert go.post("/v1/metering-points", json=body).status_code == 202
        assert reasons_for(go, body["messageId"]) == []
    assert supplier.post("/v1/start-of-supply",
                         json=start_of_supply(solar, today() - timedelta(days=2))
                         ).status_code == 202
    poll_until(supplier, "market-processes", lambda m: m["documentType"] ==
               "ConfirmStartOfSupply")
    mapping = tmp_path / "types.csv"
    mapping.write_text("field,old,new\nproductionType,solar-old,E12\n")
    dry = cli(straum, "master-data", "migrate-types", "--mapping", str(mapping), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would change" in dry.stdout
    real = cli(straum, "master-data", "migrate-types", "--mapping", str(mapping))
    assert real.returncode == 0, real.stderr
    notice = poll_until(supplier, "market-processes",
                        lambda m: m["documentType"] == "NotifyMeteringPointCharacteristics"
                        and m["payload"]["meteringPointId"] == solar)
    assert notice["payload"]["productionType"] == "E12"
    again = cli(straum, "master-data", "migrate-types", "--mapping", str(mapping), "--dry-run")
    assert again.returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("field,old,new\ncolour,red,blue\n")
    refused = cli(straum, "master-data", "migrate-types", "--mapping", str(bad))
    assert refused.returncode == 1 and "field must be one of" in refused.stderr


def test_registrations_in_bulk_are_each_acknowledged_once(straum: Straum) -> None:
    """A bulk call is written as if each document came alone: one acknowledgement each, a
    message id used before answered as a duplicate, and one invalid document refuses the
    call with a pointer into it, writing nothing."""
    owner = gln()
    go = straum.client(owner, "grid_owner")
    alone = register_point(gsrn())
    assert go.post("/v1/metering-points", json=alone).status_code == 202
    documents = [register_point(gsrn()) for _ in range(3)]
    bad = go.post("/v1/metering-points/bulk", json={"documents": [
        documents[0], {**documents[1], "meteringPointId": "707057500000000011"}]})
    assert bad.status_code == 400
    assert [p["pointer"] for p in bad.json()["problems"]] == ["/documents/1/meteringPointId"]
    answer = go.post("/v1/metering-points/bulk", json={"documents": [*documents, alone]})
    assert answer.status_code == 202, answer.text
    assert [d["status"] for d in answer.json()["documents"]] == [
        "accepted", "accepted", "accepted", "duplicate"]
    again = go.post("/v1/metering-points/bulk", json={"documents": documents})
    assert (again.status_code, {d["status"] for d in again.json()["documents"]}) == (
        200, {"duplicate"})
    wanted = {d["messageId"] for d in [*documents, alone]}
    acks: list[str] = []
    deadline = time.monotonic() + 60
    while set(acks) != wanted and time.monotonic() < deadline:
        response = go.post("/v1/queues/market-processes/poll", params={"max": 100})
        if response.status_code == 204:
            time.sleep(0.2)
            continue
        body = response.json()
        acks += [m["payload"]["originalMessageId"] for m in body["messages"]
                 if m["documentType"] == "Acknowledgement"]
        go.post("/v1/queues/market-processes/ack", json={"pollId": body["pollId"]})
    assert sorted(acks) == sorted(wanted)
