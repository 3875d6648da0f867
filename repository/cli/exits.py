"""The exit codes of every ``hsar`` command, defined once (the docstrings of the CLI modules point here)."""

from __future__ import annotations

from enum import IntEnum

from ..errors import BUSY_CODES


class Exit(IntEnum):
    """0 success; 1 the input was checked and found bad (invalid SIP, failed audit, rejected ingest, tampered
    log) or the command could not be done (any other :class:`~repository.errors.HsarError`); 2 unusable
    arguments or configuration (:class:`~repository.errors.UsageError`, :class:`~repository.errors.ConfigError`,
    click's usage errors); 3 an internal error; 75 the home is busy (another ingest or audit holds its lock:
    ``ING-BUSY``, ``AUDIT-BUSY``, ``DSP-BUSY``; EX_TEMPFAIL of ``sysexits.h``, so cron and systemd can tell "try again
    later" from a failure); 130 interrupted (Ctrl-C, a second SIGTERM); 143 stopped: a
    SIGTERM ended ``hsar audit`` cleanly before every selected archive was checked (what was checked is
    recorded and reported; the rest was not audited: 128 + SIGTERM, as a shell reports a process it ended)."""

    OK = 0
    BAD = 1
    USAGE = 2
    INTERNAL = 3
    BUSY = 75
    INTERRUPTED = 130
    STOPPED = 143

    @classmethod
    def of(cls, ok: bool) -> Exit:
        """OK when ``ok``, else BAD."""
        return cls.OK if ok else cls.BAD

    @classmethod
    def for_error(cls, code: str, usage: bool) -> Exit:
        """The exit of an error with ``code``: BUSY for a busy home, USAGE for ``usage`` errors, else BAD."""
        return cls.BUSY if code in BUSY_CODES else cls.USAGE if usage else cls.BAD
