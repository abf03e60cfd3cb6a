"""The README's worked visit runs as printed, against the sandbox."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from sehatmu_async import SehatMuClient
from sehatmu_async.sandbox import Sandbox

README = Path(__file__).resolve().parents[2] / "README.md"


def _worked_visit() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### A worked visit")
    begin = text.index("```python\n", start) + len("```python\n")
    return text[begin : text.index("```", begin)]


async def test_the_worked_visit_runs_as_printed(
    sandbox: Sandbox,
    patient_ref: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SEHATMU_BASE_URL", sandbox.url)
    monkeypatch.setenv("SEHATMU_CLIENT_ID", sandbox.client_id)
    monkeypatch.setenv("SEHATMU_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.delenv("SEHATMU_ENVIRONMENT", raising=False)
    code = _worked_visit()
    assert 'pid = "P02029102687"' in code
    code = code.replace('pid = "P02029102687"', f'pid = "{patient_ref.split("/")[1]}"')
    source = "async def visit():\n" + textwrap.indent(code, "    ")
    source += "    return result, conditions, enc_id\n"
    namespace: dict[str, Any] = {"SehatMuClient": SehatMuClient}
    exec(compile(source, str(README), "exec"), namespace)
    result, conditions, enc_id = await namespace["visit"]()
    assert result.ok
    assert len(result) == 4
    assert len(conditions) == 2
    assert all(c["encounter"] == {"reference": f"Encounter/{enc_id}"} for c in conditions)
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in printed] == [
        ["Encounter", "201"],
        ["Condition", "201"],
        ["Condition", "201"],
        ["Observation", "201"],
    ]
