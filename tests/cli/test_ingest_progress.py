"""``hsar ingest`` on a terminal counts the bytes of a large SIP as it is received (issue 15), through the
command line's progress bar (repository/cli/progress.py): result lines never share a line with the bar; piped or
with ``-q`` nothing but results is written."""

from __future__ import annotations

import dataclasses
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from repository.cli.progress import Bar, human_bytes
from repository.descriptive import parse
from repository.sip.build import write_sip

ROOT = Path(__file__).resolve().parents[2]
HSAR = [sys.executable, "-c", "from repository.cli import main; main()"]
POSITION = re.compile(r"(\d+\.\d) MB/(\d+\.\d) MB")
BIG = 48 << 20


@pytest.fixture(scope="module")
def big_sip(demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo household SIP re-bagged with a 48 MiB TIFF scan (random pixels) on its first item."""
    from PIL import Image

    sip = demo.sips("household")[0]
    archive = parse((sip / "metadata/descriptive.xml").read_bytes())
    first = archive.items[0]
    extra = f"{first.files[0].rsplit('/', 1)[0]}/{first.number:04d}-scan-big.tif"
    scratch = tmp_path_factory.mktemp("big-scan") / "scan.tif"
    Image.frombytes("L", (4096, BIG // 4096), os.urandom(BIG)).save(scratch, "TIFF")
    payload = {p.relative_to(sip).as_posix(): p for p in (sip / "data").rglob("*") if p.is_file()}
    payload[extra] = scratch
    items = (dataclasses.replace(first, files=(*first.files, extra)), *archive.items[1:])
    out = tmp_path_factory.mktemp("big") / "0001-big"
    write_sip(dataclasses.replace(archive, items=items), payload, out, source_organization=archive.institution,
              bagging_date=date(2025, 1, 2))
    return out


def _on_terminal(*args: str) -> str:
    """Everything ``hsar`` writes with stdout and stderr on one pseudo-terminal, as a person sees it raw."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "140"}
    child = subprocess.Popen([*HSAR, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    raw = b""
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        if not ready:
            child.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        raw += chunk
    os.close(master)
    child.wait(timeout=60)
    return raw.decode("utf-8", "replace")


def _shown(raw: str) -> list[str]:
    """The lines as a terminal shows them: what follows the last carriage return of each, escapes removed."""
    lines = raw.replace("\r\n", "\n").split("\n")
    return [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line.rsplit("\r", 1)[-1]) for line in lines]


def test_a_large_sip_shows_its_bytes_and_results_keep_their_own_lines(big_sip: Path, home: Path) -> None:
    raw = _on_terminal("--home", str(home), "ingest", str(big_sip))
    positions = [(float(a), float(b)) for a, b in POSITION.findall(raw)]
    total = positions[-1][1] if positions else 0.0
    assert total >= BIG / 1e6, raw[-2000:]  # the bar counts the SIP's bytes
    assert any(0 < done < total for done, _ in positions), raw[-2000:]  # and moves inside the SIP
    shown = _shown(raw)
    results = [line for line in shown if "0001-big" in line]
    assert len(results) == 1 and results[0].startswith("✔ 0001-big"), shown
    assert not POSITION.search(results[0])  # the bar never shares the result's line


def test_piped_or_quiet_prints_results_only(big_sip: Path, home: Path) -> None:
    piped = subprocess.run([*HSAR, "--home", str(home), "ingest", str(big_sip)], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300, stdin=subprocess.DEVNULL)
    assert piped.returncode == 0 and piped.stdout.startswith("✔ 0001-big"), piped.stderr
    assert not POSITION.search(piped.stdout + piped.stderr) and "\r" not in piped.stdout + piped.stderr
    second = home.parent / "second"
    shutil.copytree(home, second)
    quiet = _on_terminal("--home", str(home.parent / "second"), "-q", "ingest", str(big_sip))
    assert not POSITION.search(quiet) and "\r" not in quiet.replace("\r\n", "\n")


def test_the_byte_bar_never_goes_past_a_sip_it_has_not_finished(monkeypatch) -> None:
    monkeypatch.setattr("repository.cli.progress.on_terminal", lambda: True)
    bar = Bar(True, "ingest", in_bytes=True)
    bar.start(300)
    bar.add(250, upto=100)  # a package unpacks to more than it weighs: counted up to its own size
    assert bar.bar is not None and bar.bar.pos == 100
    bar.move_to(100)
    bar.add(50, upto=300)
    assert bar.bar.pos == 150 and bar._position(None) == f"{human_bytes(150)}/{human_bytes(300)}"
    bar.close()
    assert human_bytes(1_234_567) == "1.2 MB" and human_bytes(999) == "999 B"


def test_a_fast_copy_still_moves_the_byte_bar_once_a_percent(monkeypatch) -> None:
    """A large file copied from the page cache in less than REDRAW_SECONDS was drawn at 0 % and at its end only
    (a flaky run of the pty test above): the bar is also drawn whenever its whole percent moves."""
    monkeypatch.setattr("repository.cli.progress.on_terminal", lambda: True)
    bar = Bar(True, "ingest", in_bytes=True)
    bar.start(50 << 20)
    assert bar.bar is not None
    drawn: list[int] = []
    monkeypatch.setattr(bar.bar, "render_progress", lambda: drawn.append(bar.bar.pos))  # type: ignore[union-attr]
    for _ in range(50):  # 1 MiB chunks, all well within one REDRAW_SECONDS
        bar.add(1 << 20)
    bar.close()
    assert len(drawn) == 50 and all(0 < pos < 50 << 20 for pos in drawn[:-1])  # once a percent (2 % a chunk)
