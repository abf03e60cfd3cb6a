"""TransactionBundle: building entries and the pre-flight, without any network."""

from __future__ import annotations

import uuid
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _transaction_helpers import ENC_SYSTEM, condition, encounter, observation

from sehatmu_async import ConfigurationError, Identifier, Patient, ValidationError
from sehatmu_async._bundle import (
    TransactionBundle,
    UnreconcilableEntryWarning,
    entry_identifiers,
)
from sehatmu_async.errors import TransactionError


def refusal(bundle: TransactionBundle) -> TransactionError:
    with pytest.raises(TransactionError) as caught:
        bundle.check(warn=False)
    return caught.value


def rules(err: TransactionError) -> list[int | None]:
    return [issue.rule_number for issue in err.issues]


# -- building --------------------------------------------------------------------------------


def test_add_returns_unique_uuid4_urns_used_as_full_urls_in_order() -> None:
    bundle = TransactionBundle()
    refs = [bundle.add(encounter(f"V-{i}")) for i in range(50)]
    assert len(set(refs)) == 50
    for ref in refs:
        assert ref.startswith("urn:uuid:")
        assert uuid.UUID(ref[9:]).version == 4
        assert ref == ref.lower()
    wire = bundle.to_wire()
    assert wire["resourceType"] == "Bundle"
    assert wire["type"] == "transaction"
    assert [e["fullUrl"] for e in wire["entry"]] == refs
    assert [e["resource"]["identifier"][0]["value"] for e in wire["entry"]] == [
        f"V-{i}" for i in range(50)
    ]
    assert all(e["request"] == {"method": "POST", "url": "Encounter"} for e in wire["entry"])


def test_returned_reference_wires_entries_together() -> None:
    bundle = TransactionBundle()
    enc = bundle.add(encounter())
    bundle.add(condition(enc))
    entry = bundle.to_wire()["entry"][1]
    assert entry["resource"]["encounter"] == {"reference": enc}
    assert entry["request"]["url"] == "Condition"
    bundle.check(warn=False)


def test_add_copies_the_payload_so_later_changes_are_not_sent() -> None:
    payload = encounter()
    bundle = TransactionBundle()
    bundle.add(payload)
    payload["status"] = "cancelled"
    payload["identifier"][0]["value"] = "changed"
    resource = bundle.to_wire()["entry"][0]["resource"]
    assert resource["status"] == "finished"
    assert resource["identifier"][0]["value"] == "V-1"


def test_aware_datetimes_go_out_in_utc_and_naive_ones_are_refused() -> None:
    wib = timezone(timedelta(hours=7))
    bundle = TransactionBundle()
    bundle.add(encounter(period={"start": datetime(2023, 8, 23, 17, 35, tzinfo=wib)}))
    assert bundle.entries[0].resource["period"]["start"] == "2023-08-23T10:35:00+00:00"
    with pytest.raises(ConfigurationError, match="naive"):
        bundle.add(encounter(period={"start": datetime(2023, 8, 23, 17, 35)}))
    assert len(bundle) == 1


def test_sdk_models_and_pydantic_models_are_accepted() -> None:
    bundle = TransactionBundle()
    patient = Patient(identifier=[Identifier.nik("3171012345678901")], gender="male")
    ref = bundle.add(patient)
    assert bundle.entries[0].resource_type == "Patient"
    assert bundle.entries[0].resource["identifier"][0]["value"] == "3171012345678901"

    class Dumps:  # what fhir.resources (pydantic) models offer
        def model_dump(self, **options: Any) -> dict[str, Any]:
            assert options == {"mode": "json", "by_alias": True, "exclude_none": True}
            return condition(ref)

    bundle.add(Dumps())
    assert bundle.entries[1].resource["encounter"]["reference"] == ref


def test_fhir_resources_pydantic_model_is_dumped_as_json() -> None:
    observation = pytest.importorskip("fhir.resources.observation")
    model = observation.Observation.model_validate(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": "Patient/P02029102687"},
            "valueQuantity": {"value": 80, "unit": "beats/minute"},
        }
    )
    bundle = TransactionBundle()
    bundle.add(model)
    resource = bundle.entries[0].resource
    assert resource["resourceType"] == "Observation"
    assert resource["valueQuantity"]["value"] == 80
    assert None not in resource.values()


@pytest.mark.parametrize(
    "bad",
    [
        "Encounter",
        42,
        None,
        {"status": "finished"},
        {"resourceType": "encounter"},
        {"resourceType": "../Patient"},
        {"resourceType": 7},
    ],
)
def test_add_refuses_what_is_not_a_resource(bad: Any) -> None:
    bundle = TransactionBundle()
    with pytest.raises(ConfigurationError):
        bundle.add(bad)
    assert len(bundle) == 0


def test_a_bundle_cannot_be_added_to_a_bundle() -> None:
    inner = TransactionBundle([encounter()])
    with pytest.raises(ConfigurationError, match="20011"):
        TransactionBundle().add(inner)


def test_repr_shows_types_but_no_patient_data() -> None:
    bundle = TransactionBundle([encounter("SECRET-VISIT-9")])
    assert "Encounter" in repr(bundle)
    assert "SECRET-VISIT-9" not in repr(bundle)
    assert "SECRET-VISIT-9" not in repr(bundle.entries[0])


# -- pre-flight ------------------------------------------------------------------------------


def test_empty_bundle_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        TransactionBundle().check()


def test_dangling_reference_names_entry_rule_and_path() -> None:
    bundle = TransactionBundle()
    bundle.add(encounter())
    ghost = f"urn:uuid:{uuid.uuid4()}"
    bundle.add(condition(ghost))
    err = refusal(bundle)
    assert isinstance(err, ValidationError)
    assert rules(err) == [10124]
    assert err.issues[0].expression == ("Bundle.entry[1].resource.encounter.reference",)
    assert "entry 1 (Condition)" in str(err)
    assert "10124" in str(err)
    assert "nothing was sent" in str(err)
    assert err.first_failure is not None
    assert err.first_failure.index == 1
    assert err.entries[0].outcome is None
    assert err.refused == ()


def test_references_deep_inside_lists_are_checked() -> None:
    bundle = TransactionBundle()
    enc = bundle.add(encounter())
    ghost = f"urn:uuid:{uuid.uuid4()}"
    bundle.add(observation(enc, hasMember=[{"reference": enc}, {"reference": ghost}]))
    err = refusal(bundle)
    assert [i.expression for i in err.issues] == [
        ("Bundle.entry[1].resource.hasMember[1].reference",)
    ]


def test_ordinary_references_and_urn_text_outside_reference_are_left_alone() -> None:
    bundle = TransactionBundle()
    bundle.add(encounter(note=[{"text": f"urn:uuid:{uuid.uuid4()}"}]))
    bundle.check(warn=False)


def test_nested_bundle_entry_is_rule_20011() -> None:
    bundle = TransactionBundle()
    bundle.add(encounter())
    bundle.add({"resourceType": "Bundle", "type": "collection"})
    bundle.add(encounter("V-2", contained=[{"resourceType": "Bundle", "type": "document"}]))
    err = refusal(bundle)
    assert rules(err) == [20011, 20011]
    assert err.issues[0].expression == ("Bundle.entry[1].resource",)
    assert err.issues[1].expression == ("Bundle.entry[2].resource.contained[0]",)


@pytest.mark.parametrize(
    ("full_url", "rule"),
    [
        (None, 20021),
        ("", 20021),
        ("Encounter/123", 20017),
        ("http://example.org/Encounter/1", 20017),
        ("urn:oid:1.2.3", 20017),
        ("urn:uuid:not-a-uuid", 20018),
        ("urn:uuid:" + str(uuid.uuid4()).upper(), 20018),
        ("urn:uuid:" + str(uuid.uuid1()), 20019),
    ],
)
def test_full_url_rules(full_url: str | None, rule: int) -> None:
    wire = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": encounter(), "request": {"method": "POST", "url": "Encounter"}}],
    }
    if full_url is not None:
        wire["entry"][0]["fullUrl"] = full_url
    err = refusal(TransactionBundle.from_wire(wire))
    assert rules(err) == [rule]
    assert err.issues[0].expression == ("Bundle.entry[0].fullUrl",)
    assert f"RuleNumber: {rule}" in str(err)


def test_duplicate_full_url_is_rule_20020_on_the_later_entry() -> None:
    bundle = TransactionBundle()
    ref = bundle.add(encounter())
    bundle.add(encounter("V-2"), full_url=ref)
    err = refusal(bundle)
    assert rules(err) == [20020]
    assert err.issues[0].expression == ("Bundle.entry[1].fullUrl",)
    assert "entry 0" in (err.issues[0].text or "")


def test_wrong_request_of_an_entry_from_a_file_is_reported() -> None:
    wire = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": encounter(),
                "request": {"method": "PUT", "url": "Encounter/1"},
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": encounter("V-2"),
                "request": {"method": "POST", "url": "Condition"},
            },
        ],
    }
    err = refusal(TransactionBundle.from_wire(wire))
    assert [i.expression for i in err.issues] == [
        ("Bundle.entry[0].request",),
        ("Bundle.entry[1].request",),
    ]


def test_every_problem_comes_in_one_error_in_entry_order() -> None:
    bundle = TransactionBundle()
    enc = bundle.add(encounter())
    bundle.add(condition(f"urn:uuid:{uuid.uuid4()}"))
    bundle.add(condition(enc, "C-2"), full_url=enc)
    bundle.add({"resourceType": "Bundle"})
    err = refusal(bundle)
    assert rules(err) == [10124, 20020, 20011]
    assert [e.index for e in err.entries if e.outcome is not None] == [1, 2, 3]
    assert "+2 more issue(s)" in str(err)
    assert err.status == 0
    assert err.url == "<pre-flight>"


def test_entries_pass_the_single_create_preflight() -> None:
    bundle = TransactionBundle()
    bundle.add(encounter())
    bundle.add(
        {"resourceType": "Patient", "identifier": [{"system": "http://x.org", "value": "1"}]}
    )
    err = refusal(bundle)
    assert 10117 in rules(err)
    expressions = [e for issue in err.issues for e in issue.expression]
    assert "Bundle.entry[1].resource.identifier[0].system" in expressions
    assert all(e.startswith("Bundle.entry[1]") for e in expressions)


def test_entries_without_identifier_get_a_warning_naming_them() -> None:
    bundle = TransactionBundle()
    bundle.add(encounter())
    unidentified = observation(bundle.full_urls[0])
    del unidentified["identifier"]
    bundle.add(unidentified)
    assert bundle.unreconcilable() == (1,)
    with pytest.warns(UnreconcilableEntryWarning, match=r"1 \(Observation\)"):
        bundle.check()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bundle.check(warn=False)


def test_entry_identifiers() -> None:
    assert entry_identifiers(encounter("V-9")) == ((ENC_SYSTEM, "V-9"),)
    assert entry_identifiers({"identifier": {"system": "s", "value": "v"}}) == (("s", "v"),)
    assert entry_identifiers({"identifier": [{"system": "s"}, {"value": "v"}, "x"]}) == ()
    assert entry_identifiers({}) == ()


# -- from a file -----------------------------------------------------------------------------


def test_from_wire_keeps_full_urls_and_round_trips() -> None:
    built = TransactionBundle()
    enc = built.add(encounter())
    built.add(condition(enc))
    again = TransactionBundle.from_wire(built.to_wire())
    assert again.to_wire() == built.to_wire()
    again.check(warn=False)


@pytest.mark.parametrize(
    "bad",
    [
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "batch", "entry": []},
        {"resourceType": "Bundle", "type": "transaction", "entry": {}},
        {"resourceType": "Bundle", "type": "transaction", "entry": ["x"]},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:x"}]},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"a": 1}}]},
    ],
)
def test_from_wire_refuses_what_is_not_a_transaction(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        TransactionBundle.from_wire(bad)


# -- sending again only what is missing --------------------------------------------------------


def test_without_stored_keeps_missing_entries_and_rewrites_stored_references() -> None:
    bundle = TransactionBundle()
    enc = bundle.add(encounter())
    cond = bundle.add(condition(enc))
    obs = bundle.add(observation(enc, hasMember=[{"reference": cond}]))
    remaining = bundle.without_stored([{"resourceType": "Encounter", "id": "E1"}, None, None])
    assert remaining.full_urls == (cond, obs)
    resources = [e.resource for e in remaining.entries]
    assert resources[0]["encounter"] == {"reference": "Encounter/E1"}
    assert resources[1]["encounter"] == {"reference": "Encounter/E1"}
    assert resources[1]["hasMember"] == [{"reference": cond}]
    remaining.check(warn=False)
    # The original is untouched.
    assert bundle.entries[1].resource["encounter"] == {"reference": enc}


def test_without_stored_refuses_unidentified_entries_unless_told() -> None:
    bundle = TransactionBundle()
    bundle.add(encounter())
    unidentified = observation(bundle.full_urls[0])
    del unidentified["identifier"]
    bundle.add(unidentified)
    with pytest.raises(ConfigurationError, match=r"entry 1 \(Observation\) has no identifier"):
        bundle.without_stored([None, None])
    assert len(bundle.without_stored([None, None], allow_unidentified=True)) == 2
    with pytest.raises(ConfigurationError, match="2 entries"):
        bundle.without_stored([None])
