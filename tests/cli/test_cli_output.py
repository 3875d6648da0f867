"""What a command says: results only when not on a terminal, ``-q`` (results only) and ``-v`` (more detail),
and on a terminal a progress bar that never shares a line with a result."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from repository.cli import cli

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def hsar(home: Path, *args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", *args])


def test_not_on_a_terminal_only_results_are_printed(demo, home: Path) -> None:
    sips = [str(p) for p in demo.sips("household")[:2]]
    result = hsar(home, "ingest", *sips)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no bar, no progress, nothing but results
    lines = result.stdout.splitlines()
    assert [line[:2] for line in lines[:2]] == ["✔ ", "✔ "] and lines[-1].startswith("2 SIPs: 2 ingested")
    audited = hsar(home, "audit", "--all", "--no-repair")
    assert audited.exit_code == 0 and audited.stderr == ""


def test_quiet_prints_the_summary_and_verbose_every_archive(demo, home: Path) -> None:
    sips = [str(p) for p in demo.sips("household")[:2]]
    quiet = hsar(home, "-q", "ingest", *sips)
    assert quiet.exit_code == 0 and quiet.stdout.splitlines() == ["2 SIPs: 2 ingested, 0 duplicate, 0 rejected"]
    normal = hsar(home, "audit", "--all", "--no-repair")
    assert normal.exit_code == 0 and not any(line.endswith(": intact") for line in normal.stdout.splitlines())
    verbose = hsar(home, "-v", "audit", "--all", "--no-repair")
    assert sum(1 for line in verbose.stdout.splitlines() if line.endswith(": intact")) == 2, verbose.stdout
    quiet_audit = hsar(home, "-q", "audit", "--all", "--no-repair")
    assert [line for line in quiet_audit.stdout.splitlines() if not line.startswith("report: ")] == [
        line for line in quiet_audit.stdout.splitlines() if line.startswith("✔ 2 archives checked")]
    both = hsar(home, "-q", "-v", "audit")
    assert both.exit_code == 2 and "choose one of -q and -v" in both.stderr


def _visible_lines(raw: bytes) -> list[str]:
    """What a terminal shows of each line: the text after its last carriage return, escapes removed."""
    return [ANSI.sub("", line.rstrip("\r").split("\r")[-1]) for line in raw.decode("utf-8", "replace").split("\n")]


def test_on_a_terminal_the_bar_never_shares_a_line_with_a_result(demo, home: Path) -> None:
    sips = [str(p) for p in demo.sips("household")[:3]]
    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    process = subprocess.Popen([sys.executable, "-c", "from repository.cli import main; main()", "--home",
                                str(home), "--lang", "en", "ingest", *sips], stdin=subprocess.DEVNULL,
                               stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    raw = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        raw += chunk
    os.close(controller)
    assert process.wait(600) == 0, raw
    assert b"ingest" in raw and b"[" in raw  # a bar was drawn on the terminal
    shown = [line for line in _visible_lines(raw) if "✔" in line or "SIPs:" in line]
    assert len(shown) == 4, shown
    assert all(line.startswith(("✔ ", "3 SIPs:")) for line in shown), shown
