"""``--out PATH``: what may be replaced, what is written into, what is refused before any
request (the sandbox counts every request, token requests included)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from _cli_helpers import Result, listing, run_cli, sandbox_env

from sehatmu_async.cli._failures import UsageError
from sehatmu_async.cli._output_file import check_output
from sehatmu_async.sandbox import Sandbox

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = 65534


async def _pull(sandbox: Sandbox, out: str | Path, **run: object) -> Result:
    return await run_cli(
        "regions", "pull", "provinces", "--out", str(out), env=sandbox_env(sandbox), **run
    )


def _refused_before_any_request(result: Result, sandbox: Sandbox, needle: str) -> None:
    line = result.assert_one_line_error(2)
    assert needle in line, line
    assert sandbox.counters.requests == 0
    assert sandbox.counters.token_requests == 0


def _provinces(data: bytes) -> list[str]:
    return [orjson.loads(line)["code"] for line in data.splitlines()]


@contextlib.contextmanager
def _immutable(path: Path) -> Iterator[None]:
    """``chattr +i`` (root may write anything else); skips where it is not available."""
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not installed")
    done = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


# -- replaced ------------------------------------------------------------------------------


async def test_a_symlink_keeps_pointing_at_its_replaced_target(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = tmp_path / "data" / "provinces.jsonl"
    target.parent.mkdir()
    target.write_text("previous\n")
    target.chmod(0o640)
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    result = await _pull(sandbox, link)
    assert result.code == 0, result.err
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert len(_provinces(target.read_bytes())) == 37
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file kept its permissions
    assert listing(target.parent) == [target.name]  # no temporary file left


async def test_a_dangling_symlink_gets_its_target_created(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = tmp_path / "new.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    result = await _pull(sandbox, link)
    assert result.code == 0, result.err
    assert link.is_symlink()
    assert len(_provinces(target.read_bytes())) == 37


# -- written into --------------------------------------------------------------------------


async def test_a_fifo_with_a_reader_is_written_into(sandbox: Sandbox, tmp_path: Path) -> None:
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as reader:  # blocks until the CLI opens the FIFO
            got.append(reader.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = await _pull(sandbox, fifo)
    await asyncio.to_thread(reader.join, 30)
    assert result.code == 0, result.err
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO, not a regular file
    assert len(_provinces(got[0])) == 37
    assert listing(tmp_path) == [fifo.name]


async def test_a_character_device_is_written_into_not_replaced(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # A null device of our own (as root, the old code replaced /dev/null itself).
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    result = await _pull(sandbox, node)
    assert result.code == 0, result.err
    assert stat.S_ISCHR(node.stat().st_mode)
    assert listing(tmp_path) == [node.name]


# -- refused, before any request -----------------------------------------------------------


async def test_an_empty_out_is_refused(sandbox: Sandbox) -> None:
    _refused_before_any_request(await _pull(sandbox, ""), sandbox, "--out is empty")


async def test_a_fifo_nobody_reads_is_refused_not_replaced(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    result = await _pull(sandbox, fifo)
    _refused_before_any_request(result, sandbox, "no process is reading")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


async def test_a_block_device_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    node = tmp_path / "disk"
    try:
        os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 0))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    result = await _pull(sandbox, node)
    _refused_before_any_request(result, sandbox, "is a block device")
    assert stat.S_ISBLK(node.stat().st_mode)


async def test_a_read_only_file_is_refused_even_for_root(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "keep.jsonl"
    out.write_text("previous\n")
    out.chmod(0o444)
    result = await _pull(sandbox, out)
    _refused_before_any_request(result, sandbox, "read-only")
    assert out.read_text() == "previous\n"
    assert listing(tmp_path) == [out.name]


async def test_an_immutable_file_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "keep.jsonl"
    out.write_text("previous\n")
    with _immutable(out):
        result = await _pull(sandbox, out)
    _refused_before_any_request(result, sandbox, "cannot write")
    assert out.read_text() == "previous\n"


async def test_a_file_in_an_immutable_directory_is_refused(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = tmp_path / "frozen"
    folder.mkdir()
    with _immutable(folder):
        result = await _pull(sandbox, folder / "new.jsonl")
    _refused_before_any_request(result, sandbox, "is not writable")
    assert listing(folder) == []


@pytest.mark.skipif(IS_ROOT, reason="root writes into a 0555 directory: see the next test")
async def test_a_directory_this_user_may_not_write_is_refused(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = await _pull(sandbox, folder / "new.jsonl")
    finally:
        folder.chmod(0o755)
    _refused_before_any_request(result, sandbox, "is not writable")
    assert listing(folder) == []


@pytest.mark.skipif(not IS_ROOT, reason="the previous test runs the CLI as this user")
def test_the_check_follows_the_permissions_of_the_user_running_it() -> None:
    """Root's 0555 directories and 0644 files of others, checked as nobody (a forked child:
    nobody cannot run this venv's interpreter, which lives under /root)."""
    base = Path(tempfile.mkdtemp(prefix="sehatmu-out-"))
    try:
        base.chmod(0o755)
        locked = base / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        theirs = base / "theirs.jsonl"
        theirs.write_text("root's\n")
        theirs.chmod(0o644)
        cases = [(locked / "new.jsonl", "is not writable"), (theirs, "may not write")]
        for path, needle in cases:
            assert _check_as(NOBODY, path) == f"refused: {needle}", path
        assert _check_as(0, locked / "new.jsonl") == "accepted"  # root, as the CLI
    finally:
        (base / "locked").chmod(0o755)
        shutil.rmtree(base)


def _check_as(uid: int, path: Path) -> str:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child process
        os.close(read)
        outcome = "accepted"
        try:
            if uid:
                os.setgid(uid)
                os.setuid(uid)
            check_output(str(path))
        except UsageError as refused:
            needles = ("is not writable", "may not write")
            outcome = "refused: " + next((n for n in needles if n in str(refused)), str(refused))
        except BaseException as other:
            outcome = f"error: {other!r}"
        os.write(write, outcome.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("missing-dir/out.jsonl", "there is no directory"),
        ("a-dir", "is a directory"),
        ("a-dir/", "is a directory"),
        ("new-dir/", "names a directory"),
        ("a-file/out.jsonl", "cannot write"),
    ],
)
async def test_paths_that_cannot_be_a_file_are_refused(
    sandbox: Sandbox, tmp_path: Path, name: str, needle: str
) -> None:
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "a-file").write_text("x")
    result = await _pull(sandbox, f"{tmp_path}/{name}")
    _refused_before_any_request(result, sandbox, needle)


# -- the helper's API, as the fhir commands use it -----------------------------------------


def test_check_output_names_the_destination(tmp_path: Path) -> None:
    assert check_output("-").where == "stdout"
    assert check_output("-").is_stdout
    out = check_output(str(tmp_path / "x.jsonl"))
    assert out.where == str(tmp_path / "x.jsonl")
    with out.open() as file:
        file.write(b"row\n")
    assert (tmp_path / "x.jsonl").read_bytes() == b"row\n"


def test_a_failed_write_leaves_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("previous\n")
    output = check_output(str(path))

    def fail_midway() -> None:
        with output.open() as file:
            file.write(b"half")
            raise RuntimeError("the download failed")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert path.read_text() == "previous\n"
    assert listing(tmp_path) == ["x.jsonl"]


def test_the_flag_name_is_the_callers(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--bundle-out is empty"):
        check_output("", flag="--bundle-out")
