"""``hsar cache prune``: holds the researchers' copies (``cache/research/``) to ``cache.research_max_mb`` and says
what it removed and what is left, in the ``--lang`` language or as a JSON envelope."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from repository.cli import cli
from repository.home import init_home

MIB = 1024 * 1024
AgedFile = Callable[[Path, int, float], Path]  # the aged_file fixture (tests/conftest.py)
SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "cache-prune.schema.json"


def test_prune_removes_the_least_recently_used_and_says_so(tmp_path: Path, aged_file: AgedFile) -> None:
    home = tmp_path / "home"
    init_home(home)
    research = home / "cache" / "research"
    oldest = aged_file(research / "a.pdf", MIB // 2, 3)
    older = aged_file(research / "scans" / "b.png", MIB // 2, 2)
    newest = aged_file(research / "c.pdf", MIB // 2, 1)
    partial = aged_file(research / "d.pdf.77.0badcafe.tmp", 4 * MIB, 5)
    runner = CliRunner()

    kept = runner.invoke(cli, ["--home", str(home), "--lang", "en", "cache", "prune"])  # the default bound: 2048 MiB
    assert kept.exit_code == 0, kept.output
    assert kept.output == ("researchers' copy cache: files removed 0 (0 B), files kept 3 (1.6 MB), "
                           "bound 2048 MiB\n")

    bound = {"HSAR_CACHE_RESEARCH_MAX_MB": "1"}  # 1.5 MiB held: down to 0.9 MiB, the two oldest go
    done = runner.invoke(cli, ["--home", str(home), "--lang", "en", "cache", "prune"], env=bound)
    assert done.exit_code == 0, done.output
    assert done.output == ("researchers' copy cache: files removed 2 (1.0 MB), files kept 1 (524.3 kB), "
                           "bound 1 MiB\n")
    assert not oldest.exists() and not older.exists() and newest.is_file() and partial.is_file()

    zh = runner.invoke(cli, ["--home", str(home), "cache", "prune"], env={"HSAR_CACHE_RESEARCH_MAX_MB": "0"})
    assert zh.output == "利用件缓存：删除 0 个文件（0 B），保留 1 个文件（524.3 kB），不设上限\n"

    envelope = json.loads(runner.invoke(cli, ["--home", str(home), "cache", "prune", "--json"], env=bound).stdout)
    jsonschema.validate(envelope, json.loads(SCHEMA.read_text("utf-8")))
    assert envelope == {"schema": "hsar/cache-prune/1", "ok": True,
                        "result": {"removed": 0, "freed_bytes": 0, "kept": 1, "kept_bytes": MIB // 2,
                                   "bound_bytes": MIB}}


def test_prune_refuses_a_home_that_is_not_one(tmp_path: Path) -> None:
    done = CliRunner().invoke(cli, ["--home", str(tmp_path / "none"), "--lang", "en", "cache", "prune"])
    assert done.exit_code == 2 and "[CONFIG]" in done.output and not (tmp_path / "none").exists()
