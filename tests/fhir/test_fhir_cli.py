"""``sehatmu fhir get|search|create`` as a user runs it: a child process on the sandbox."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _fhir_helpers import location, organization

from sehatmu_async.sandbox import Sandbox
from sehatmu_async.sandbox._fhir_store import store_for

TIMEOUT_S = 90.0


@pytest.fixture
async def cli_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=3) as sb:
        yield sb


async def _cli(sb: Sandbox, *args: str, stdin: bytes | None = None) -> tuple[int, bytes, str]:
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
    out, err = await asyncio.wait_for(proc.communicate(stdin), TIMEOUT_S)
    assert proc.returncode is not None
    return proc.returncode, out, err.decode()


def _write(tmp_path: Path, resource: dict[str, Any], name: str = "r.json") -> str:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(resource))
    return str(path)


async def test_create_get_and_search_all_to_a_file(cli_sandbox: Sandbox, tmp_path: Path) -> None:
    code, out, err = await _cli(cli_sandbox, "fhir", "create", _write(tmp_path, organization()))
    assert code == 0, err
    org_id = out.decode().strip()
    assert store_for(cli_sandbox._state).get("Organization", org_id) is not None
    store = store_for(cli_sandbox._state)
    for _ in range(25):
        store.create(location(org_id))
    code, out, err = await _cli(cli_sandbox, "fhir", "get", "Organization", org_id)
    assert code == 0, err
    assert orjson.loads(out)["id"] == org_id
    target = tmp_path / "locations.jsonl"
    code, out, err = await _cli(
        cli_sandbox,
        "fhir",
        "search",
        "Location",
        f"organization={org_id}",
        "_count=10",
        "--all",
        "--out",
        str(target),
    )
    assert code == 0, err
    lines = target.read_bytes().splitlines()
    assert len(lines) == 25
    assert {orjson.loads(line)["resourceType"] for line in lines} == {"Location"}
    assert cli_sandbox.counters.by_route["GET /fhir-r4/v1/{type}"] == 3


async def test_search_without_all_writes_the_first_page_and_says_so(
    cli_sandbox: Sandbox,
) -> None:
    store = store_for(cli_sandbox._state)
    org = store.create(organization())
    for _ in range(5):
        store.create(location(org["id"]))
    code, out, err = await _cli(cli_sandbox, "fhir", "search", "Location", "_count=2")
    assert code == 0, err
    assert len(out.splitlines()) == 2
    assert "more pages: add --all" in err


async def test_lost_create_exits_1_and_says_how_to_reconcile(
    cli_sandbox: Sandbox, tmp_path: Path
) -> None:
    cli_sandbox.faults.drop_rate = 1.0
    resource = organization(value="ORG-LOST")
    code, out, err = await _cli(cli_sandbox, "fhir", "create", _write(tmp_path, resource))
    assert code == 1
    assert out == b""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Do NOT run this create again" in lines[0]
    assert "sehatmu fhir search Organization 'identifier=" in lines[0]
    assert "|ORG-LOST" in lines[0]
    assert cli_sandbox.counters.by_route["POST /fhir-r4/v1/{type}"] == 1


@pytest.mark.parametrize(
    "args",
    [
        ("fhir", "create", "/nonexistent/r.json"),
        ("fhir", "search", "Location", "organization"),
        ("fhir", "search", "Location", "a=1", "a=2"),
        ("fhir", "search", "location", "a=1"),
        ("fhir", "get", "Encounter", ".."),
        ("fhir", "search", "Location", "--out", "/nonexistent/dir/x.jsonl"),
    ],
)
async def test_bad_arguments_exit_2_before_any_request(
    cli_sandbox: Sandbox, args: tuple[str, ...]
) -> None:
    code, _, err = await _cli(cli_sandbox, *args)
    assert code == 2, err
    assert err.startswith("sehatmu: error: ")
    assert "Traceback" not in err
    assert cli_sandbox.counters.requests == 0


async def test_create_refused_by_preflight_sends_nothing(
    cli_sandbox: Sandbox, tmp_path: Path
) -> None:
    bad = organization()
    bad["identifier"][0]["system"] = "http://xxx.org"
    code, _, err = await _cli(cli_sandbox, "fhir", "create", _write(tmp_path, bad))
    assert code == 1
    assert "RuleNumber: 10117" in err
    assert cli_sandbox.counters.requests == 0
    code, _out, err = await _cli(cli_sandbox, "fhir", "create", "-", stdin=orjson.dumps(bad))
    assert code == 1


async def test_demo_creates_and_finds_clinical_resources() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEHATMU_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sehatmu_async",
        "demo",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT_S)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert "created Organization " in text
    assert ", Location " in text
    assert ", Encounter " in text
    assert "found the Organization, Location and Encounter again by search" in text
