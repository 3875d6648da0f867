"""Work run in a child process forked for it, its answer sent back: for work whose memory should not stay with a
long-running process (the worker, the scheduler) once it is done.

A dual-track reconciliation holds about 1 KB per electronic item while it runs (1.7 GB at two million items)
and CPython keeps much of it afterwards (0.5 GB measured): a child gives all of it back when it ends. The child
opens what it needs afresh (never a connection of the parent's); its progress calls travel back over the pipe
and are made in the parent, by the parent's own callback. What the child raised is raised again here (the
exception itself when it pickles, else a :class:`ForkedError` with its text); a child that dies without an
answer (killed, out of memory) is a :class:`ForkedError` naming its exit status.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Progress = Callable[[int, int], None]


class ForkedError(RuntimeError):
    """The child raised something that could not be sent back, or ended without an answer."""


def in_child(work: Callable[[Progress], T], progress: Progress | None = None, *, name: str = "hsar-child") -> T:
    """``work(progress)`` run in a forked child; its return value (which must pickle), here."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, send), name=name)
    child.start()
    send.close()
    try:
        while True:
            try:
                kind, value = receive.recv()
            except EOFError:  # killed, or it died before it could answer
                child.join()
                raise ForkedError(f"{name} ended without an answer (exit status {child.exitcode})") from None
            if kind == "progress":
                if progress is not None:
                    progress(*value)
                continue
            if kind == "error":
                raise value if isinstance(value, BaseException) else ForkedError(str(value))
            result: T = value
            return result
    finally:
        receive.close()
        child.join()


def _child(work: Callable[[Progress], Any], send: Any) -> None:  # noqa: ANN401 - a multiprocessing Connection
    def progress(done: int, total: int) -> None:
        send.send(("progress", (done, total)))

    try:
        answer: tuple[str, object] = ("done", work(progress))
    except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
        try:
            pickle.loads(pickle.dumps(exc))
            answer = ("error", exc)
        except Exception:  # noqa: BLE001 - an exception that does not pickle goes as its text
            answer = ("error", f"{type(exc).__name__}: {exc}")
    send.send(answer)
    send.close()
