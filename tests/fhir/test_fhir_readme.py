"""The README's worked Encounter example runs as printed, against the sandbox."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from _fhir_helpers import location

from sehatmu_async import SehatMuClient
from sehatmu_async.sandbox import Sandbox

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### A worked example: an outpatient visit")
    begin = text.index("```python\n", start) + len("```python\n")
    return text[begin : text.index("```", begin)]


async def test_the_worked_encounter_runs_as_printed(
    sandbox: Sandbox,
    sandbox_client: SehatMuClient,
    stored: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in (
        ("SEHATMU_BASE_URL", sandbox.url),
        ("SEHATMU_CLIENT_ID", sandbox.client_id),
        ("SEHATMU_CLIENT_SECRET", sandbox.client_secret),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SEHATMU_ENVIRONMENT", raising=False)
    loc = await sandbox_client.fhir.create(location(stored["organization"]))
    code = _example()
    assert 'ORG = "100025753"' in code
    code = code.replace('ORG = "100025753"', f'ORG = "{stored["organization"]}"')
    body = code.split("\n", 2)[2]  # the imports stay at module level
    source = code.split("\n", 2)[0] + "\n" + code.split("\n", 2)[1] + "\n"
    source += "async def visit(patient_id, location_id, nik):\n" + textwrap.indent(body, "    ")
    source += "    return enc, visits, dr, same\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, str(README), "exec"), namespace)
    enc, visits, dr, same = await namespace["visit"](
        stored["patient"], loc["id"], "3171010101800001"
    )
    assert enc["status"] == "finished"
    assert enc["period"]["start"] == "2023-08-23T10:35:00+00:00"
    assert [v["id"] for v in visits] == [enc["id"]]
    assert dr["id"] == "N10000001"
    assert same["id"] == enc["id"]
