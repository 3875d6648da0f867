"""Click's own argument errors look like every other hsar error: one line ``错误 [USAGE]: …`` (``error [USAGE]:
…`` in English), a hint, exit 2; each in the ``--lang`` language alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.cli import cli


def hsar(*args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, list(args), prog_name="hsar")


@pytest.mark.parametrize(("args", "message", "command"), [
    (("search", "孙", "--page", "0"), "Invalid value for '--page': 0 is not in the range x>=1.", "hsar search"),
    (("search", "孙", "--per-page", "100000"), "Invalid value for '--per-page': 100000", "hsar search"),
    (("search", "孙", "--sort", "bogus"), "Invalid value for '--sort': 'bogus' is not one of", "hsar search"),
    (("search", "孙", "--division"), "Option '--division' requires an argument.", "hsar search"),
    (("ingest", "{tmp}/nowhere"), "Invalid value for 'PATHS...': Path", "hsar ingest"),
    (("--lang", "fr", "show", "x"), "Invalid value for '--lang': 'fr' is not one of 'zh', 'en'.", "hsar"),
    (("--home", "{tmp}/afile", "init"), "Invalid value for '--home': Directory", "hsar"),
    (("nosuch",), "No such command 'nosuch'.", "hsar"),
    (("show",), "Missing argument 'ARCHIVE_ID'.", "hsar show"),
    (("show", "x", "--bogus"), "No such option '--bogus'", "hsar show"),
    (("audit", "--sample", "0"), "Invalid value for '--sample': 0 is not in the range x>=1.", "hsar audit"),
    (("audit", "--sample"), "Option '--sample' requires an argument.", "hsar audit"),
    (("audit", "log", "--tail", "x"), "Invalid value for '--tail'", "hsar audit log"),
    (("sip", "validate"), "Missing argument 'PATH'.", "hsar sip validate"),
    (("sip", "build", "{tmp}"), "Missing argument 'METADATA'.", "hsar sip build"),
])
def test_click_usage_errors_are_one_line_with_a_hint(tmp_path: Path, args: tuple[str, ...], message: str,
                                                     command: str) -> None:
    (tmp_path / "afile").write_text("not a directory", "utf-8")
    result = hsar("--home", str(tmp_path / "home"), *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    first, hint = result.stderr.splitlines()
    assert first.startswith("错误 [USAGE]: ") and message in first
    assert hint == f"用 {command} --help 查看用法"
    assert "Usage:" not in result.output and "Try '" not in result.output and "Traceback" not in result.output


def test_the_console_script_shows_the_same_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "from repository.cli import main; main()", "--home",
                           str(tmp_path), "search", "孙", "--page", "0"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "错误 [USAGE]: Invalid value for '--page': 0 is not in the range x>=1.",
        "用 hsar search --help 查看用法"]
    english = subprocess.run([sys.executable, "-c", "from repository.cli import main; main()", "--lang", "en",
                              "--home", str(tmp_path), "search", "孙", "--page", "0"], capture_output=True, text=True,
                             timeout=120, check=False)
    assert english.stderr.splitlines() == [
        "error [USAGE]: Invalid value for '--page': 0 is not in the range x>=1.", "see hsar search --help"]


def test_help_and_version_still_exit_0() -> None:
    for args in (("--help",), ("-h",), ("search", "--help"), ("search", "-孙建平", "-h"), ("audit", "log", "-h"),
                 ("sip", "validate", "--help")):
        result = hsar(*args)
        assert result.exit_code == 0, (args, result.output)
        assert result.stdout.startswith("Usage: hsar") and "[USAGE]" not in result.output
    result = hsar("--version")
    assert result.exit_code == 0 and result.stdout.startswith("hsar, version ")


def test_a_group_without_its_subcommand_prints_its_help_and_a_wrong_one_is_one_line() -> None:
    result = hsar("sip")
    assert "Usage: hsar sip" in result.output and "[USAGE]" not in result.output
    result = hsar("sip", "bogus")
    assert result.exit_code == 2 and result.stderr.splitlines() == [
        "错误 [USAGE]: No such command 'bogus'.", "用 hsar sip --help 查看用法"]


def test_library_usage_errors_keep_their_own_line_and_click_errors_get_a_hint(tmp_path: Path) -> None:
    result = hsar("--home", str(tmp_path), "--lang", "en", "audit", "--all", "--sample", "1")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error [USAGE]: choose one of --due, --all, --archive, --sample (got --all --sample)"]
    result = hsar("--home", str(tmp_path), "--lang", "en", "audit", "--all", "--sample", "-1")
    assert result.exit_code == 2 and result.stderr.splitlines() == [
        "error [USAGE]: Invalid value for '--sample': -1 is not in the range x>=1.",
        "see hsar audit --help"]


def test_ctrl_c_in_a_search_for_a_negated_word_is_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from repository import home

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(home.Repository, "open", classmethod(interrupted))
    result = hsar("--home", str(tmp_path), "search", "-孙")  # reaches the command (no `--` needed) ...
    assert result.exit_code == 130 and result.stderr == "已中断\n"  # ... and Ctrl-C there is 130
