"""Progress bars on a terminal (rich), nothing at all otherwise."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

__all__ = ["Bar", "Bars"]

# Pushing every region to rich costs a lock and a refresh check; batches are plenty
# for a display refreshed ten times a second.
_PUSH_EVERY = 500


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        # Rich's own estimate needs several samples; a fast level finishes before it has
        # them, so a finished bar shows its average instead.
        elapsed = task.elapsed
        if task.finished and elapsed:
            speed: float | None = task.completed / elapsed
        else:
            speed = task.speed
        return Text(f"{speed:,.0f}/s" if speed else "–/s", style="progress.data.speed")


class Bar:
    """One counter; a no-op when its :class:`Bars` is not shown."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task
        self._pending = 0
        self.count = 0

    def add(self, n: int = 1) -> None:
        self.count += n
        self._pending += n
        if self._pending >= _PUSH_EVERY:
            self._push()

    def done(self) -> None:
        self._push()
        if self._progress is not None and self._task is not None:
            # An indeterminate bar becomes a full one once the count is known.
            self._progress.update(self._task, total=self.count, completed=self.count)

    def _push(self) -> None:
        if self._progress is not None and self._task is not None and self._pending:
            self._progress.advance(self._task, self._pending)
        self._pending = 0


class Bars:
    """``with Bars(console) as bars: bar = bars.bar("cities", 514)``; ``console=None``: hidden."""

    def __init__(self, console: Console | None) -> None:
        self._progress = (
            None
            if console is None
            else Progress(
                TextColumn("{task.description:<14}"),
                BarColumn(),
                MofNCompleteColumn(),
                _RateColumn(),
                TimeElapsedColumn(),
                console=console,
                refresh_per_second=10,
            )
        )

    def bar(self, label: str, total: int | None) -> Bar:
        if self._progress is None:
            return Bar(None, None)
        return Bar(self._progress, self._progress.add_task(label, total=total))

    def __enter__(self) -> Bars:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
