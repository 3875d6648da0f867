"""``hsar identify``: one line per file, a folder walked, JSON lines, exit 2 for a missing path."""

from __future__ import annotations

import json

from click.testing import CliRunner

from repository.cli import cli


def test_identify_walks_a_folder_and_prints_one_line_per_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HSAR_HOME", str(tmp_path / "home"))
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("住房保障\n", "utf-8")
    (folder / "sub" / "scan.pdf").write_bytes(b"\x00\x01broken")
    done = CliRunner().invoke(cli, ["--lang", "en", "identify", str(folder), "--json"])
    assert done.exit_code == 0, done.output
    rows = [json.loads(line) for line in done.output.splitlines()]
    assert [r["file"].rsplit("/", 1)[1] for r in rows] == ["notes.txt", "scan.pdf"]
    assert rows[0]["puid"] == "x-fmt/111" and rows[0]["method"] == "text" and rows[0]["warnings"] == []
    assert rows[1]["method"] == "extension" and "identified by the file extension only" in rows[1]["warnings"]
    text = CliRunner().invoke(cli, ["--lang", "zh", "identify", str(folder / "sub" / "scan.pdf")])
    assert text.exit_code == 0 and "仅凭文件扩展名识别" in text.output and text.output.count("\n") == 1


def test_identify_missing_path_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HSAR_HOME", str(tmp_path / "home"))
    done = CliRunner().invoke(cli, ["--lang", "en", "identify", str(tmp_path / "nope")])
    assert done.exit_code == 2 and "no such file or folder" in done.output
