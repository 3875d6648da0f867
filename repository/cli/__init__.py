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

from .base import LazyCommands, cli  # noqa: E402

#: Which module of this package registers each top-level command: it is imported when its command is first
#: asked for (``hsar audit`` imports the audit commands, not pyHanko's signer for ``hsar ingest``, nor the
#: access rules of ``hsar user``); ``hsar --help`` and anything listing the commands import them all
#: (tests/cli/test_cli_lazy.py holds this table to what the modules register).
COMMANDS = {
    "audit": "audit", "replicate": "audit", "scheduler": "audit", "access-copy": "dip", "disposal": "disposal",
    "init": "home", "identify": "identify", "worker": "jobs", "job": "jobs", "ocr": "ocr", "paper": "paper",
    "search": "search", "reindex": "search", "sip": "sip", "demo-data": "sip", "ingest": "store",
    "show": "store", "rebuild-catalog": "store", "export": "transfer", "user": "users", "serve": "web",
    "cache": "cache", "scan-review": "scans",
}
cli.commands = LazyCommands(cli.commands, COMMANDS, __name__)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        cli.main(args=argv, prog_name="hsar")
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0) from None


__all__ = ["COMMANDS", "cli", "main"]
