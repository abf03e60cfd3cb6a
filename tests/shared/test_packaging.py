"""What PyPI and pip get: the licence metadata, the notices, a README that renders there.

The wheel is built offline from a copy of the sources with the installed setuptools (the
dev extra requires a PEP 639 one), so the check runs anywhere the suite runs.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA_NOTICES = ("LICENSE-cahyadsn-wilayah", "LICENSE-kodewilayah")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, and everything the build printed."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "sehatmu_async", source / "sehatmu_async",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    out = tmp_path_factory.mktemp("dist")
    build = (
        "import sys; from setuptools import build_meta; "
        "print(build_meta.build_wheel(sys.argv[1]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONWARNINGS")}
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", build, str(out)],
        cwd=source, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out / done.stdout.strip().splitlines()[-1], done.stdout + done.stderr


def test_the_build_has_no_deprecation_warning(built: tuple[Path, str]) -> None:
    _, log = built
    assert "Deprecat" not in log, log  # SetuptoolsDeprecationWarning, "is deprecated"
    assert "License classifiers" not in log, log


def test_the_wheel_carries_an_spdx_licence_and_every_notice(built: tuple[Path, str]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_string(archive.read(metadata_name).decode())
        licence = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert "MIT License" in archive.read(licence).decode()
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License"] is None  # the deprecated free-text field is gone
    files = metadata.get_all("License-File") or []
    assert "LICENSE" in files
    for notice in DATA_NOTICES:
        # Beside the data, where the sandbox ships it, and among the wheel's licences.
        assert f"sehatmu_async/sandbox/data/{notice}" in names
        assert any(f.endswith(notice) for f in files), files


def test_readme_links_work_on_pypi() -> None:
    """PyPI shows the README without the repository and without heading ids: a relative
    link or a ``#section`` anchor leads nowhere there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    targets = re.findall(r"\]\(([^)\s]+)", prose) + re.findall(r"^\[[^\]]+\]:\s*(\S+)", prose,
                                                               flags=re.M)
    assert targets, "the README has links"
    relative = [t for t in targets if not re.match(r"https?://", t)]
    assert relative == [], f"links that break on PyPI: {relative}"
    assert "<a " not in prose  # no hand-made anchors either: PyPI strips their ids


def test_the_sdk_licence_is_mit_and_the_data_notices_stay() -> None:
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    for notice in DATA_NOTICES:
        assert (ROOT / "sehatmu_async" / "sandbox" / "data" / notice).exists()
