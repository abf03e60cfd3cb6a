"""``sehatmu regions pull`` end to end: a child process against an in-process sandbox."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
from _cli_helpers import base_env, listing, run_cli, sandbox_env

from sehatmu_async import SehatMuClient
from sehatmu_async.sandbox import Sandbox

KEYS = ["code", "parent_code", "bps_code", "name", "level"]
ACEH = {"code": "11", "parent_code": None, "bps_code": "11", "name": "ACEH", "level": "provinces"}


def _jsonl(data: bytes) -> list[dict[str, object]]:
    assert data.endswith(b"\n")
    return [orjson.loads(line) for line in data.splitlines()]


async def test_provinces_as_json_lines_on_stdout(sandbox: Sandbox) -> None:
    result = await run_cli(
        "regions", "pull", "provinces", "--format", "jsonl", env=sandbox_env(sandbox)
    )
    assert result.code == 0, result.err
    rows = _jsonl(result.out)
    assert len(rows) == 37
    assert all(list(row) == KEYS for row in rows)
    assert ACEH in rows
    assert len({row["code"] for row in rows}) == 37
    # Piped: no progress bar, no summary, no colour, nothing but data.
    assert result.err == ""
    result.assert_no_escapes()
    result.assert_clean(sandbox.client_secret, sandbox.client_id)


async def test_provinces_as_csv(sandbox: Sandbox) -> None:
    result = await run_cli(
        "regions", "pull", "provinces", "--format", "csv", env=sandbox_env(sandbox)
    )
    assert result.code == 0, result.err
    lines = result.text.splitlines()
    assert lines[0] == "code,parent_code,bps_code,name,level"
    rows = list(csv.DictReader(io.StringIO(result.text)))
    assert len(rows) == 37
    aceh = next(row for row in rows if row["code"] == "11")
    # None is an empty field in CSV.
    assert aceh == {
        "code": "11",
        "parent_code": "",
        "bps_code": "11",
        "name": "ACEH",
        "level": "provinces",
    }
    result.assert_no_escapes()


async def test_cities_under_a_parent_to_a_file(sandbox: Sandbox, tmp_path: Path) -> None:
    async with SehatMuClient(sandbox.client_id, sandbox.client_secret, base_url=sandbox.url) as c:
        expected = {region.code for region in await c.regions.v1.cities(province_codes=["11"])}
    out = tmp_path / "aceh-cities.jsonl"
    result = await run_cli(
        "regions", "pull", "cities", "--parent", "11", "--out", str(out), env=sandbox_env(sandbox)
    )
    assert result.code == 0, result.err
    assert result.out == b""  # the data went to the file
    assert result.err == ""
    rows = _jsonl(out.read_bytes())
    assert {row["code"] for row in rows} == expected
    assert len(rows) == len(expected)
    assert {row["parent_code"] for row in rows} == {"11"}
    assert {row["level"] for row in rows} == {"cities"}
    assert listing(tmp_path) == [out.name]  # no temporary file left


async def test_parents_repeat_and_underscore_level_name(sandbox: Sandbox) -> None:
    result = await run_cli(
        "regions",
        "pull",
        "sub_districts",
        "--parent",
        "110101",
        "--parent",
        "110102,110103",
        "--format",
        "csv",
        "--limit",
        "7",
        "--concurrency",
        "3",
        env=sandbox_env(sandbox),
    )
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.text)))
    assert rows
    assert {row["parent_code"] for row in rows} == {"110101", "110102", "110103"}
    assert {row["level"] for row in rows} == {"sub_districts"}
    assert len({row["code"] for row in rows}) == len(rows)


async def test_every_village_to_a_file_exactly_once(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "villages.jsonl"
    out.write_text("an older download\n")
    result = await run_cli(
        "regions",
        "pull",
        "sub-districts",
        "--out",
        str(out),
        "--limit",
        "2000",
        "--concurrency",
        "16",
        env=sandbox_env(sandbox),
    )
    assert result.code == 0, result.err
    result.assert_no_escapes()
    data = out.read_bytes()
    lines = data.splitlines()
    assert len(lines) == 83_763
    codes = {orjson.loads(line)["code"] for line in lines}
    assert len(codes) == 83_763
    assert all(len(code) == 10 for code in codes)
    assert orjson.loads(lines[0])["level"] == "sub_districts"
    assert listing(tmp_path) == [out.name]


async def test_base_url_flag_wins_over_the_environment(sandbox: Sandbox) -> None:
    env = sandbox_env(sandbox, SEHATMU_ENVIRONMENT="development")
    env["SEHATMU_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens there
    result = await run_cli("regions", "pull", "provinces", "--base-url", sandbox.url, env=env)
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 37


async def test_help_names_the_credential_variables() -> None:
    result = await run_cli("regions", "pull", "--help", env=base_env())
    assert result.code == 0
    assert "SEHATMU_CLIENT_ID" in result.text
    assert "--client-secret" not in result.text
