"""Progress reporting for the stages: a rich bar per unit of work, or nothing (tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

Advance = Callable[[int], None]


class Reporter(Protocol):
    """Where stages report progress and one-line notes."""

    def bar(self, label: str, total: int, done: int = 0) -> Any:
        """A context manager yielding ``advance(n)`` for a bar of ``total`` items."""

    def note(self, text: str) -> None:
        """A one-line message (a stage skipped, a fallback taken)."""


class NullReporter:
    """Reports nothing; collects notes (handy in tests)."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    @contextmanager
    def bar(self, label: str, total: int, done: int = 0) -> Iterator[Advance]:
        def advance(n: int = 1) -> None:
            pass

        yield advance

    def note(self, text: str) -> None:
        self.notes.append(text)


class RichReporter:
    """rich progress bars (elapsed and remaining time) on a console."""

    def __init__(self, console: Any | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)

    @contextmanager
    def bar(self, label: str, total: int, done: int = 0) -> Iterator[Advance]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=self.console, transient=False) as progress:
            task = progress.add_task(label, total=total, completed=done)

            def advance(n: int = 1) -> None:
                progress.advance(task, n)

            yield advance

    def note(self, text: str) -> None:
        self.console.print(text, highlight=False)
