"""``hsar job list`` named export and OCR jobs by their code in a Chinese listing and gave the time without its
offset (UTC read as local time); found by the review of the jobs pages. Times are Beijing time with the offset,
as everywhere a person reads them (messages.local_time)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from repository import messages
from repository.cli import cli
from repository.jobs import KINDS, JobQueue


def test_job_list_names_every_kind_and_gives_the_offset(home: Path) -> None:
    for kind in KINDS:
        assert f"job_kind.{kind}" in messages.catalogue(), kind
    with JobQueue.open(home) as queue:
        queue.records.create("export", {"archives": ["hh-1"]}, username="a")
        queue.records.create("ocr", {"archives": ["hh-1"], "all": False}, username="a")
    result = CliRunner().invoke(cli, ["--home", str(home), "job", "list"], prog_name="hsar")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 and "移交导出" in result.output and "文字识别" in result.output
    assert all(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00$", line) for line in lines), lines  # Beijing time
