"""The ``hsar`` command line: a thin adapter over the library (parse, call one function, render).

Exit codes: 0 success, 1 the input was checked and found bad (invalid SIP, failed audit, rejected ingest),
2 unusable arguments or configuration, 3 internal error. Errors are one clear line with a stable code,
never a traceback (``--debug`` shows one for developers). Each command group lives in its own module.
"""

from __future__ import annotations

import os
import sys

from . import audit, home, search, sip, store  # noqa: F401  (modules register their commands on import)
from .base import cli


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        cli.main(args=argv, prog_name="hsar")
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0) from None


__all__ = ["cli", "main"]
