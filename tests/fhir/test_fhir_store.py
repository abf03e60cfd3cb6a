"""The sandbox's FHIR store API the transaction route builds on: all or nothing."""

from __future__ import annotations

import pytest
from _fhir_helpers import encounter, location, organization

from sehatmu_async.sandbox._fhir_store import (
    BatchRefused,
    FhirStore,
    Refusal,
    references_in,
    rewrite_references,
)
from sehatmu_async.sandbox._patients import PatientStore

URN_ORG = "urn:uuid:0b7b2f0e-2a1c-4c41-9d4e-8f0a7b6c5d4e"
URN_LOC = "urn:uuid:7c1a7a53-55a7-4cf8-8d0b-7f29b8d7e0a1"


def test_create_many_rewrites_references_and_commits_all() -> None:
    store = FhirStore(PatientStore())
    org = organization()
    loc = location("x")
    loc["managingOrganization"] = {"reference": URN_ORG}
    stored = store.create_many([org, loc], [URN_ORG, URN_LOC])
    assert [s["resourceType"] for s in stored] == ["Organization", "Location"]
    assert stored[1]["managingOrganization"]["reference"] == f"Organization/{stored[0]['id']}"
    assert store.get("Location", stored[1]["id"]) == stored[1]
    assert store.creates == {"Organization": 1, "Location": 1}


def test_create_many_refuses_all_when_one_fails() -> None:
    store = FhirStore(PatientStore())
    before = len(store)
    org = organization()
    dangling = location("no-such-org")
    with pytest.raises(BatchRefused) as caught:
        store.create_many([org, dangling], [URN_ORG, URN_LOC])
    assert caught.value.index == 1
    assert "10124" in caught.value.issues[0]["details"]["text"]
    assert len(store) == before
    twins = [organization(value="SAME"), organization(value="SAME")]
    with pytest.raises(BatchRefused) as caught:
        store.create_many(twins, [URN_ORG, URN_LOC])
    assert caught.value.issues[0]["code"] == "duplicate"
    assert len(store) == before


def test_single_create_checks_and_replace_versions() -> None:
    store = FhirStore(PatientStore())
    org = store.create(organization(value="O-1"))
    with pytest.raises(Refusal):
        store.create(organization(value="O-1"))
    with pytest.raises(Refusal):
        store.create(encounter("P404", org["id"]))  # no such Patient
    again = store.replace("Organization", org["id"], {**org, "name": "B"})
    assert again["meta"]["versionId"] == "2"
    assert store.owner("Organization", org["identifier"][0]["system"], "O-1") == org["id"]


def test_reference_helpers() -> None:
    value = {"a": {"reference": "X/1"}, "b": [{"reference": "urn:uuid:1"}, {"c": 1}]}
    assert list(references_in(value, "R")) == [("R.a", "X/1"), ("R.b[0]", "urn:uuid:1")]
    assert rewrite_references(value, {"urn:uuid:1": "Y/2"})["b"][0] == {"reference": "Y/2"}
    assert value["b"][0] == {"reference": "urn:uuid:1"}  # a copy: the input is untouched
