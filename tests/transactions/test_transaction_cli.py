"""``sehatmu fhir transaction FILE``: the file read, the lines printed, refusals, lost answers."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from _fakes import CLIENT_ID, CLIENT_SECRET, ScriptedPlatform, json_reply, reply
from _transaction_helpers import ENC_SYSTEM, condition, encounter, observation, visit

from sehatmu_async import TransactionError
from sehatmu_async.cli._failures import EXIT_FAILURE, CommandError, UsageError, describe
from sehatmu_async.cli._fhir_transaction import fhir_transaction, read_bundle
from sehatmu_async.sandbox import Sandbox


def jsonl(*items: Any) -> bytes:
    return b"".join(orjson.dumps(item) + b"\n" for item in items)


# -- reading the file ------------------------------------------------------------------------


def test_a_bundle_file_is_sent_as_written() -> None:
    bundle, _ = visit()
    read = read_bundle(orjson.dumps(bundle.to_wire()))
    assert read.to_wire() == bundle.to_wire()


def test_json_lines_of_resources_are_wrapped_in_order() -> None:
    read = read_bundle(
        jsonl(encounter(), condition("Encounter/E1"))
        + b"\n   \n"
        + jsonl(observation("Encounter/E1"))
    )
    assert [e.resource_type for e in read.entries] == ["Encounter", "Condition", "Observation"]
    assert all(e.full_url.startswith("urn:uuid:") for e in read.entries)


def test_json_lines_entries_keep_their_full_urls_for_references() -> None:
    enc = f"urn:uuid:{uuid.uuid4()}"
    read = read_bundle(jsonl({"fullUrl": enc, "resource": encounter()}, condition(enc)))
    assert read.full_urls[0] == enc
    read.check(warn=False)


def test_one_resource_alone_is_a_bundle_of_one() -> None:
    read = read_bundle(orjson.dumps(encounter()))
    assert len(read) == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "holds no resources"),
        (b"\n\n", "holds no resources"),
        (jsonl(encounter()) + b"{not json\n", "line 2 is not JSON"),
        (jsonl(encounter(), [1, 2]), "line 2 is not a JSON object"),
        (jsonl(encounter(), {"status": "final"}), "line 2: resource type"),
        (jsonl({"fullUrl": 7, "resource": encounter()}), "line 1: fullUrl must be"),
        (orjson.dumps({"resourceType": "Bundle", "type": "batch"}), "type 'transaction'"),
    ],
)
def test_bad_files_are_usage_errors_naming_the_line(raw: bytes, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_bundle(raw, name="visit.jsonl")


# -- running it ------------------------------------------------------------------------------


def args_for(path: Path, base_url: str, *, validate: bool = True) -> argparse.Namespace:
    return argparse.Namespace(
        file=str(path), validate=validate, base_url=base_url, environment=None
    )


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(client_id: str, secret: str) -> None:
        monkeypatch.setenv("SEHATMU_CLIENT_ID", client_id)
        monkeypatch.setenv("SEHATMU_CLIENT_SECRET", secret)
        monkeypatch.delenv("SEHATMU_BASE_URL", raising=False)
        monkeypatch.delenv("SEHATMU_ENVIRONMENT", raising=False)

    return use


async def test_prints_one_line_per_entry(
    tmp_path: Path,
    sandbox: Sandbox,
    patient_ref: str,
    credentials: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    credentials(sandbox.client_id, sandbox.client_secret)
    bundle, _ = visit(patient_ref)
    path = tmp_path / "visit.json"
    path.write_bytes(orjson.dumps(bundle.to_wire()))
    assert await fhir_transaction(args_for(path, sandbox.url)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["Encounter", "201"],
        ["Condition", "201"],
        ["Condition", "201"],
        ["Observation", "201"],
    ]
    assert [line.split("\t")[3] for line in lines] == list(bundle.full_urls)
    enc_id = lines[0].split("\t")[2]
    assert sandbox.counters.by_route["POST /fhir-r4/v1"] == 1
    from sehatmu_async.sandbox._fhir_store import store_for

    stored = store_for(sandbox._state).get("Condition", lines[1].split("\t")[2])
    assert stored is not None
    assert stored["encounter"] == {"reference": f"Encounter/{enc_id}"}


async def test_a_refusal_exits_1_naming_the_first_failing_entry(
    tmp_path: Path, sandbox: Sandbox, patient_ref: str, credentials: Any
) -> None:
    credentials(sandbox.client_id, sandbox.client_secret)
    enc = f"urn:uuid:{uuid.uuid4()}"
    path = tmp_path / "visit.jsonl"
    path.write_bytes(
        jsonl(
            {"fullUrl": enc, "resource": encounter(subject=patient_ref)},
            condition(enc, subject="Patient/P99999999999"),
        )
    )
    with pytest.raises(TransactionError) as caught:
        await fhir_transaction(args_for(path, sandbox.url, validate=False))
    code, line = describe(caught.value)
    assert code == EXIT_FAILURE
    assert "entry 1 (Condition)" in line
    assert "10124" in line
    assert "\n" not in line
    # The pre-flight catches a dangling urn:uuid before anything is sent.
    path.write_bytes(jsonl(condition(f"urn:uuid:{uuid.uuid4()}", subject=patient_ref)))
    before = sandbox.counters.requests
    with pytest.raises(TransactionError) as caught:
        await fhir_transaction(args_for(path, sandbox.url))
    assert describe(caught.value)[0] == EXIT_FAILURE
    assert "entry 0 (Condition)" in str(caught.value)
    assert sandbox.counters.requests == before


async def test_a_lost_answer_is_looked_up_not_resent(
    tmp_path: Path,
    platform: ScriptedPlatform,
    credentials: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    credentials(CLIENT_ID, CLIENT_SECRET)
    platform.on("POST", "/fhir-r4/v1", reply(503, b"no healthy upstream"))
    stored = {"resourceType": "Encounter", "id": "E1"}
    empty = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    platform.on("GET", "/fhir-r4/v1/{type}", json_reply(empty))
    platform.on(
        "GET",
        "/fhir-r4/v1/Encounter",
        json_reply({**empty, "total": 1, "entry": [{"resource": stored}]}),
    )
    bundle, _ = visit()
    path = tmp_path / "visit.json"
    path.write_bytes(orjson.dumps(bundle.to_wire()))
    with pytest.raises(CommandError, match="1 of 4 entries are stored") as caught:
        await fhir_transaction(args_for(path, platform.url))
    assert "do not send it again" in str(caught.value)
    assert len(platform.requests("POST", "/fhir-r4/v1")) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        ["Encounter", "stored", "E1"],
        ["Condition", "unknown", "-"],
        ["Condition", "unknown", "-"],
        ["Observation", "unknown", "-"],
    ]
    searched = platform.requests("GET", "/fhir-r4/v1/Encounter")
    assert searched[0].query["identifier"] == f"{ENC_SYSTEM}|V-1"


async def test_missing_credentials_are_a_usage_error_before_reading_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SEHATMU_CLIENT_ID", "SEHATMU_CLIENT_SECRET", "SEHATMU_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "visit.json"
    path.write_bytes(orjson.dumps(encounter()))
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the exit code is what matters
        await fhir_transaction(args_for(path, "http://127.0.0.1:9"))
    assert describe(caught.value)[0] == 2


async def test_an_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        await fhir_transaction(args_for(tmp_path / "missing.json", "http://127.0.0.1:9"))


# -- as a user runs it: a child process ------------------------------------------------------


async def _cli(sb: Sandbox, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEHATMU_")}
    env.update(
        SEHATMU_BASE_URL=sb.url,
        SEHATMU_CLIENT_ID=sb.client_id,
        SEHATMU_CLIENT_SECRET=sb.client_secret,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sehatmu_async",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), 90)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_command_sends_json_lines_from_stdin(sandbox: Sandbox, patient_ref: str) -> None:
    enc = f"urn:uuid:{uuid.uuid4()}"
    lines = jsonl(
        {"fullUrl": enc, "resource": encounter(subject=patient_ref)},
        condition(enc, subject=patient_ref),
        observation(enc, subject=patient_ref),
    )
    code, out, err = await _cli(sandbox, "fhir", "transaction", "-", stdin=lines)
    assert (code, err) == (0, "")
    rows = [line.split("\t") for line in out.splitlines()]
    assert [row[:2] for row in rows] == [
        ["Encounter", "201"],
        ["Condition", "201"],
        ["Observation", "201"],
    ]
    assert rows[0][3] == enc
    assert sandbox.counters.by_route["POST /fhir-r4/v1"] == 1


async def test_the_command_exits_1_on_refusal_and_2_on_a_bad_file(
    sandbox: Sandbox, patient_ref: str, tmp_path: Path
) -> None:
    path = tmp_path / "visit.jsonl"
    path.write_bytes(jsonl(encounter(subject=patient_ref), encounter(subject=patient_ref)))
    code, out, err = await _cli(sandbox, "fhir", "transaction", str(path))
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("sehatmu: error: ")
    assert "entry 1 (Encounter)" in err
    assert "duplicate" in err.lower()
    path.write_bytes(b"{broken\n")
    code, _, err = await _cli(sandbox, "fhir", "transaction", str(path))
    assert code == 2
    assert "line 1 is not JSON" in err
    assert sandbox.counters.by_route["POST /fhir-r4/v1"] == 1
