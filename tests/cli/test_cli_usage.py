"""Usage errors, in process (fast): one line, exit 2, nothing sent.

The server is a closed port: had any request gone out, the exit would be 1.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sehatmu_async.cli import main


def _main(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exit_:  # argparse exits on its own
        return int(exit_.code or 0)


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEHATMU_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SEHATMU_CLIENT_ID", "usage-test-client")
    monkeypatch.setenv("SEHATMU_CLIENT_SECRET", "usage-test-secret")
    monkeypatch.delenv("SEHATMU_ENVIRONMENT", raising=False)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["regions", "pull", "cities", "--limit", "0"], "limit"),
        (["regions", "pull", "cities", "--concurrency", "0"], "concurrency"),
        (["regions", "pull", "cities", "--concurrency", "65"], "concurrency"),
        (["regions", "pull", "cities", "--parent", "1101"], "parent"),
        (["regions", "pull", "sub-districts", "--parent", "11x"], "parent"),
        (["regions", "pull", "provinces", "--parent", "11"], "parent"),
        (["regions", "pull", "cities", "--format", "xml"], "invalid choice"),
        (["regions", "pull", "cities", "--limit", "many"], "invalid int value"),
        (
            ["regions", "pull", "cities", "--environment", "staging", "--base-url", "http://x"],
            "not allowed with",
        ),
        (["regions", "pull", "cities", "--environment", "production"], "unknown environment"),
        (["regions", "pull", "cities", "--base-url", "ftp://example.org"], "base_url"),
        (["regions", "pull", "cities", "--base-url", " "], "--base-url is empty"),
        (["regions", "pull", "cities", "--client-secret", "s"], "unrecognized arguments"),
        (["token", "--environment", "nowhere"], "unknown environment"),
        (["sandbox", "--fail-rate", "1.5"], "between 0 and 1"),
        (["sandbox", "--port", "70000"], "port"),
        (["sandbox", "--token-ttl", "0"], "positive"),
        (["demo", "--concurrency", "0"], "concurrency"),
        (["regions"], "required: ACTION"),
        ([], "required: COMMAND"),
    ],
)
def test_usage_errors(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sehatmu: error: ")
    assert needle in lines[0]
    assert "usage-test-secret" not in captured.err


def test_missing_secret_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SEHATMU_CLIENT_SECRET")
    assert _main(["token"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sehatmu: error: SEHATMU_CLIENT_SECRET not set")
    assert "SEHATMU_CLIENT_ID" not in err


def test_connection_refused_is_a_runtime_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["token"]) == 1
    captured = capsys.readouterr()
    assert len(captured.err.splitlines()) == 1
    assert "usage-test-secret" not in captured.err + captured.out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from sehatmu_async import __version__

    assert _main(["--version"]) == 0
    assert capsys.readouterr().out.startswith(f"sehatmu {__version__} ")


@pytest.mark.parametrize(
    "args", [["--help"], ["demo", "--help"], ["token", "--help"], ["sandbox", "--help"]]
)
def test_help(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(args) == 0
    assert "usage: sehatmu" in capsys.readouterr().out


def test_an_unwritable_destination(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing" / "x.jsonl"
    assert _main(["regions", "pull", "cities", "--out", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(f"sehatmu: error: cannot write '{missing}'")
    assert _main(["regions", "pull", "cities", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_sandbox_on_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        assert _main(["sandbox", "--port", str(port)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"sehatmu: error: cannot listen on 127.0.0.1:{port}")
