"""The ``hsar`` command line: a thin adapter over the library (parse, call one function, render).

Exit codes: :class:`.exits.Exit` (defined once there). Errors are one clear line with a stable code, never a
traceback (``--debug`` shows one for developers). Each command group lives in its own module; each command
parses, calls one use-case of :mod:`repository.services` and renders (text or ``--json``).
"""

from __future__ import annotations

import os
import sys

from .. import quiet_third_party_warnings

quiet_third_party_warnings(sys.argv[1:])  # before the command modules import pyHanko and jieba

from . import (  # noqa: E402, F401  (modules register their commands on import)
    audit,
    dip,
    disposal,
    home,
    identify,
    jobs,
    ocr,
    paper,
    search,
    sip,
    store,
    transfer,
    users,
    web,
)
from .base import cli  # noqa: E402


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
