"""Progress bars of the command line, and how much a command says (``-q`` / ``-v``).

A bar is drawn on stderr only when stderr is a terminal, and never with ``-q`` or ``--json``: piped or in
cron, a command prints its results and nothing else. On a terminal, result lines go through :meth:`Bar.echo`,
which clears the bar's line first and draws the bar again after, so a result never shares a line with it.

A bar ``in_bytes`` (``hsar ingest``) counts the bytes of the SIPs: :meth:`Bar.add` takes the chunks a large
SIP's receipt copies, from the copying threads, and redraws at most every ``REDRAW_SECONDS``; the position
shows as ``12.3 MB/1.2 GB``. Every drawing and result line is written under one lock.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

QUIET, NORMAL, VERBOSE = -1, 0, 1
_CLEAR_LINE = "\r\x1b[K"
REDRAW_SECONDS = 0.1  # a bar in bytes is redrawn this often, and whenever its whole percent moves


def human_bytes(count: float) -> str:
    """``1.5 MB`` (decimal units, as ``ls --si`` and disk makers count)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def on_terminal() -> bool:
    return sys.stderr.isatty()


class Bar:
    """A progress bar made when its length is known (:meth:`start`); a no-op when not ``shown``."""

    def __init__(self, shown: bool, label: str = "", *, in_bytes: bool = False) -> None:
        self.shown, self.label, self.in_bytes = shown and on_terminal(), label, in_bytes
        self.bar: ProgressBar[int] | None = None
        self._lock = threading.RLock()
        self._drawn = 0.0
        self._percent = -1  # the whole percent last drawn

    def start(self, length: int) -> None:
        if self.shown and self.bar is None:
            self.bar = click.progressbar(length=max(length, 1), label=self.label, file=sys.stderr,
                                         show_pos=not self.in_bytes,
                                         item_show_func=self._position if self.in_bytes else None)
            self.bar.__enter__()

    def _position(self, _item: object) -> str | None:
        bar = self.bar
        return None if bar is None else f"{human_bytes(bar.pos)}/{human_bytes(bar.length or 0)}"

    def update(self, steps: int = 1, label: str | None = None) -> None:
        with self._lock:
            if self.bar is not None:
                if label is not None:
                    self.bar.label = label
                self.bar.update(steps)

    def add(self, steps: int, *, upto: int | None = None) -> None:
        """Advance by ``steps`` (from any thread), not past ``upto``; redrawn when the whole percent moves (at
        most 100 times a bar, so a fast copy of a large file still shows it moving) or ``REDRAW_SECONDS`` passed."""
        if self.bar is None:
            return
        with self._lock:
            bar = self.bar
            if bar is None:
                return
            limit = min(bar.length or 0, upto if upto is not None else bar.length or 0)
            bar.pos = max(bar.pos, min(bar.pos + steps, limit))
            now, percent = time.monotonic(), bar.pos * 100 // max(bar.length or 1, 1)
            if percent != self._percent or now - self._drawn >= REDRAW_SECONDS:
                self._drawn, self._percent = now, percent
                bar.render_progress()

    def move_to(self, position: int) -> None:
        """Set the position (the end of a SIP: its bytes, exactly) and redraw."""
        with self._lock:
            if self.bar is not None:
                self.bar.pos = min(position, self.bar.length or position)
                self.bar.render_progress()

    def echo(self, line: str, *, err: bool = False) -> None:
        """Print a result line; on a terminal with a bar drawn, on a line of its own."""
        with self._lock:
            if self.bar is None:
                click.echo(line, err=err)
                return
            sys.stderr.write(_CLEAR_LINE)
            sys.stderr.flush()
            click.echo(line, err=err)
            sys.stdout.flush()
            self.bar.render_progress()

    def close(self) -> None:
        with self._lock:
            if self.bar is not None:
                self.bar.__exit__(None, None, None)
                self.bar = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
                 ) -> None:
        self.close()
