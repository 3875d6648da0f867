"""Setting a stop event from a signal handler (SIGTERM, SIGINT), shared by ``hsar scheduler`` and ``hsar audit``.

A Python signal handler runs in the main thread between two bytecodes, perhaps while that thread is inside
``Event.wait`` and holds the event's own (non-reentrant) lock; ``Event.set`` in the handler would then wait for
that lock forever, and the process would ignore the signal. A helper thread sets the event instead: it gets
the lock as soon as the main thread, back from the handler, lets go of it.
"""

from __future__ import annotations

import threading


def set_from_handler(event: threading.Event) -> None:
    """Set ``event`` soon, from a signal handler (see the module's note)."""
    threading.Thread(target=event.set, name="hsar-stop", daemon=True).start()
