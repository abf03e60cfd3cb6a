"""The demo's summary: a rich table on a terminal, aligned plain text otherwise."""

from __future__ import annotations

import attrs
from rich.console import Console
from rich.table import Table

from .._models import Region

__all__ = ["LevelRow", "Summary", "render_summary"]


@attrs.frozen
class LevelRow:
    level: str
    expected: int
    pulled: int
    distinct: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.pulled == self.expected == self.distinct


@attrs.frozen
class Summary:
    levels: list[LevelRow]
    patient_id: str
    village: Region | None
    patch: str
    seconds: float
    requests: int
    token_requests: int

    def facts(self) -> list[tuple[str, str]]:
        village = self.village
        where = f" (village {village.code} {village.name})" if village is not None else ""
        return [
            ("patient", f"{self.patient_id}{where}"),
            ("patch", self.patch),
            ("total time", f"{self.seconds:.2f} s"),
            ("http requests", str(self.requests)),
            ("token requests", str(self.token_requests)),
        ]


_HEADINGS = ("level", "expected", "pulled", "distinct", "seconds", "check")


def _cells(row: LevelRow) -> tuple[str, ...]:
    # Counts without thousands separators: they are meant to be grepped and compared.
    return (
        row.level,
        str(row.expected),
        str(row.pulled),
        str(row.distinct),
        f"{row.seconds:.2f}",
        "ok" if row.ok else "MISMATCH",
    )


def _plain(summary: Summary) -> str:
    rows = [_HEADINGS, *(_cells(row) for row in summary.levels)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADINGS))]
    lines = ["summary"]
    for row in rows:
        first = row[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        lines.append("  ".join([first, *rest]).rstrip())
    key_width = max(len(key) for key, _ in summary.facts())
    lines.extend(f"{key.ljust(key_width)}  {value}" for key, value in summary.facts())
    return "\n".join(lines)


def _rich(summary: Summary) -> tuple[Table, Table]:
    levels = Table(title="sehatmu demo: regions pulled at once")
    for heading in _HEADINGS:
        levels.add_column(heading, justify="left" if heading in ("level", "check") else "right")
    for row in summary.levels:
        cells = list(_cells(row))
        cells[-1] = "[green]ok[/]" if row.ok else "[bold red]MISMATCH[/]"
        levels.add_row(*cells)
    facts = Table(show_header=False, box=None)
    facts.add_column(style="bold")
    facts.add_column()
    for key, value in summary.facts():
        facts.add_row(key, value)
    return levels, facts


def render_summary(summary: Summary, console: Console | None) -> None:
    """To ``console`` as tables, or to stdout as plain text when ``console`` is None."""
    if console is None:
        print(_plain(summary), flush=True)
        return
    for table in _rich(summary):
        console.print(table)
