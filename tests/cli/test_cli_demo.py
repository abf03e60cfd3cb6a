"""``sehatmu demo`` end to end."""

from __future__ import annotations

import re

from _cli_helpers import base_env, run_cli


async def test_demo_pulls_everything_and_summarises() -> None:
    result = await run_cli("demo", "--concurrency", "12", env=base_env())
    assert result.code == 0, result.err
    assert result.err == ""
    result.assert_no_escapes()  # piped: plain text, no table borders in colour
    text = result.text
    for level, count in [
        ("provinces", 37),
        ("cities", 514),
        ("districts", 7277),
        ("sub_districts", 83763),
    ]:
        # level, expected, pulled, distinct, seconds, check
        assert re.search(rf"^{level}\s+{count}\s+{count}\s+{count}\s+[\d.]+\s+ok$", text, re.M), (
            text
        )
    assert re.search(r"^patient\s+P\d+ \(village 3171\d{6} ", text, re.M), text
    assert re.search(r"^patch\s+language en -> id$", text, re.M), text
    assert re.search(r"^token requests\s+1$", text, re.M), text
    requests = re.search(r"^http requests\s+(\d+)$", text, re.M)
    assert requests is not None
    assert int(requests.group(1)) > 4
    assert "3171012345678901" not in text  # personal data: the NIK is not shown
