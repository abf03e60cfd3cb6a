"""The README's pytest example, exactly as printed, in a fresh project run by pytest.

The example's two files are copied byte for byte from README.md into an empty directory
(no pytest configuration, no conftest) and a child ``python -m pytest`` runs them there,
as a user who just installed the package would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
TIMEOUT_S = 180


def _readme_files() -> dict[str, str]:
    """The README's Python blocks whose first line is ``# <file>.py``, by file name."""
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    files = {}
    for block in blocks:
        first = block.split("\n", 1)[0]
        if re.fullmatch(r"# \w+\.py", first):
            files[first[2:]] = block
    return files


def _run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SEHATMU_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = _readme_files()
    assert set(files) == {"my_app.py", "test_my_app.py"}, sorted(files)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _readme_toml() -> str:
    """The README's pytest configuration block."""
    blocks = re.findall(r"^```toml\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    (block,) = [b for b in blocks if "asyncio_mode" in b]
    return block


def test_the_readme_example_passes_in_a_fresh_project(project: Path) -> None:
    """No configuration at all: pytest-asyncio's default strict mode. The plugin marks only
    tests using its fixtures, so an unrelated async test there is still not run as a
    coroutine (pytest-asyncio's own rule): nothing passes without having run."""
    (project / "test_other.py").write_text(
        "async def test_unrelated():\n    raise AssertionError('ran')\n", encoding="utf-8"
    )
    done = _run_pytest(project, "-v")
    out = done.stdout + done.stderr
    assert "test_my_app.py::test_import_villages PASSED" in out, out
    assert "test_other.py::test_unrelated PASSED" not in out, out
    assert "not natively supported" in out, out


def test_the_readme_example_passes_without_warnings_as_configured(project: Path) -> None:
    (project / "pyproject.toml").write_text(_readme_toml(), encoding="utf-8")
    done = _run_pytest(project, "-W", "error")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert "warning" not in done.stdout.lower(), done.stdout
