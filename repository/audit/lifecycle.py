"""The life of an audit's forked shard workers: they end when the audit that forked them ends.

A worker is forked from ``hsar audit``, so it inherits the command's SIGTERM handler (which only sets the
parent's stop event: in the worker, a copy nobody reads) and its copies of the pool's pipes (so it never sees
end-of-file when the parent dies). Left as it is, ``kill -9`` of the audit leaves its workers blocked for
good, ignoring SIGTERM, holding ``catalog.sqlite`` open. :func:`start_worker`, the pool's initializer, undoes
both: SIGTERM ends the worker again, and the worker ends when its parent does, through Linux's
``PR_SET_PDEATHSIG`` (``prctl`` via ctypes) and, everywhere, a watcher thread that checks the parent id.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_SECONDS = 0.5


def _parent_death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent dies; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)  # the parent is gone: end as SIGTERM ends us
    time.sleep(WATCH_SECONDS)
    os._exit(1)  # SIGTERM was blocked or handled after all


def start_worker(parent: int) -> None:
    """The initializer of a shard worker forked by the audit process ``parent``."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    _parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request above was in place
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="hsar-audit-parent-watch", daemon=True).start()
