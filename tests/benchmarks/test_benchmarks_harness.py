"""The benchmark harness: scenarios register themselves; a run never overwrites a tracked file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
benchmarks = pytest.importorskip("benchmarks.__main__", reason="run from the repository root")


def test_every_region_and_patient_scenario_is_registered() -> None:
    assert {
        "full_pull",
        "loop_lateness",
        "latency_pull",
        "streaming_memory",
        "decode_cost",
        "token_cache",
        "patients",
    } <= set(benchmarks.SCENARIOS)


def test_two_scenarios_of_one_name_are_refused() -> None:
    from benchmarks._registry import scenario

    with pytest.raises(ValueError, match="two benchmark scenarios are named 'full_pull'"):
        scenario("full_pull")(lambda repetitions: {})


def test_results_go_to_an_untracked_timestamped_file() -> None:
    out = benchmarks._default_out()
    assert out.parent == ROOT / "benchmarks" / "results"
    assert out.name != "latest.json"
    assert out.suffix == ".json"
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    relative = str(out.relative_to(ROOT))
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "-q", relative], check=False
    )
    assert ignored.returncode == 0, f"{relative} would not be ignored by git"
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "benchmarks/results"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert tracked.stdout.strip() == ""
