"""Progress bars of the command line, and how much a command says (``-q`` / ``-v``).

A bar is drawn on stderr only when stderr is a terminal, and never with ``-q`` or ``--json``: piped or in
cron, a command prints its results and nothing else. On a terminal, result lines go through :meth:`Bar.echo`,
which clears the bar's line first and draws the bar again after, so a result never shares a line with it.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

QUIET, NORMAL, VERBOSE = -1, 0, 1
_CLEAR_LINE = "\r\x1b[K"


def on_terminal() -> bool:
    return sys.stderr.isatty()


class Bar:
    """A progress bar made when its length is known (:meth:`start`); a no-op when not ``shown``."""

    def __init__(self, shown: bool, label: str = "") -> None:
        self.shown, self.label = shown and on_terminal(), label
        self.bar: ProgressBar[int] | None = None

    def start(self, length: int) -> None:
        if self.shown and self.bar is None:
            self.bar = click.progressbar(length=max(length, 1), label=self.label, file=sys.stderr, show_pos=True)
            self.bar.__enter__()

    def update(self, steps: int = 1, label: str | None = None) -> None:
        if self.bar is not None:
            if label is not None:
                self.bar.label = label
            self.bar.update(steps)

    def echo(self, line: str, *, err: bool = False) -> None:
        """Print a result line; on a terminal with a bar drawn, on a line of its own."""
        if self.bar is None:
            click.echo(line, err=err)
            return
        sys.stderr.write(_CLEAR_LINE)
        sys.stderr.flush()
        click.echo(line, err=err)
        sys.stdout.flush()
        self.bar.render_progress()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
                 ) -> None:
        self.close()
