"""``hsar ocr`` and the ``ocr`` job: arguments, errors, the job queued after an ingest, the settings."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository import config
from repository.cli import cli
from repository.errors import ConfigError
from repository.home import Repository
from repository.jobs import JobQueue
from repository.jobs.params import JobParamsError, check_params
from repository.jobs.tasks import execute


def hsar(home: Path, *args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", *args], prog_name="hsar")


@pytest.mark.parametrize("args", [(), ("--all", "--archive", "x")])
def test_ocr_needs_either_archives_or_all(home: Path, args: tuple[str, ...]) -> None:
    result = hsar(home, "ocr", *args)
    assert result.exit_code == 2 and "[USAGE]" in result.output and "--archive" in result.output


def test_ocr_of_an_unknown_archive_is_not_found_and_changes_nothing(home: Path, ih) -> None:  # noqa: ANN001
    before = ih.tree(home)
    result = hsar(home, "ocr", "--archive", "hh-no-such-archive")
    assert result.exit_code == 1 and "[NOT-FOUND]" in result.output and "hh-no-such-archive" in result.output
    assert ih.tree(home) == before


def test_ocr_all_of_an_empty_store_says_so(home: Path) -> None:
    result = hsar(home, "ocr", "--all", "--json")
    assert result.exit_code == 0, result.output
    assert '"archives": []' in result.output


def test_ocr_job_parameters_are_checked() -> None:
    assert check_params("ocr", {"archives": ["a"]}) == {"archives": ["a"], "all": False}
    assert check_params("ocr", {"all": True}) == {"archives": [], "all": True}
    for bad in ({}, {"archives": []}, {"archives": ["a"], "all": True}, {"archives": "a"}, {"all": "yes"}):
        with pytest.raises(JobParamsError):
            check_params("ocr", bad)


def test_ocr_settings_are_typed(tmp_path: Path) -> None:
    assert config.load(tmp_path, {})["ocr.after_ingest"] is False
    assert config.load(tmp_path, {"HSAR_OCR_AFTER_INGEST": "yes"})["ocr.after_ingest"] is True
    assert config.load(tmp_path, {"HSAR_OCR_AFTER_INGEST": "0"})["ocr.after_ingest"] is False
    with pytest.raises(ConfigError) as err:
        config.load(tmp_path, {"HSAR_OCR_AFTER_INGEST": "maybe"})
    assert "bool" in str(err.value)
    (tmp_path / "hsar.toml").write_text("[ocr]\nafter_ingest = 1\n", "utf-8")
    with pytest.raises(ConfigError):
        config.load(tmp_path, {})
    (tmp_path / "hsar.toml").write_text("[ocr]\nafter_ingest = true\nworkers = 1\n", "utf-8")
    cfg = config.load(tmp_path, {})
    assert cfg["ocr.after_ingest"] is True and cfg["ocr.workers"] == 1
    with pytest.raises(ConfigError):
        config.load(tmp_path, {"HSAR_OCR_WORKERS": "0"})


def _run_queued(queue: JobQueue) -> None:
    for job in sorted(queue.list(), key=lambda j: j.created_at):
        if job.state == "queued":
            execute(queue, job.id, threading.Event())


def test_an_ingest_job_queues_an_ocr_job_when_asked(home: Path, demo, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("HSAR_JOBS_URL", raising=False)
    sip = demo.sips("unit")[0]  # a unit archive: one scan (the hand-over form), quick to read
    monkeypatch.setenv("HSAR_OCR_AFTER_INGEST", "false")
    with JobQueue.open(home) as queue:
        queue.submit("ingest", {"paths": [str(sip)]})
        _run_queued(queue)
        assert [j.kind for j in queue.list()] == ["ingest"]  # off: nothing more
    monkeypatch.setenv("HSAR_OCR_AFTER_INGEST", "true")
    other = demo.sips("unit")[1]
    with JobQueue.open(home) as queue:
        ingest = queue.submit("ingest", {"paths": [str(other)]}, user="alice")
        _run_queued(queue)
        [ocr] = [j for j in queue.list() if j.kind == "ocr"]
        archive = queue.get(ingest.id).result["sips"][0]["archive_id"]  # type: ignore[union-attr]
        assert ocr.params == {"archives": [archive], "all": False} and ocr.username == "alice"
        _run_queued(queue)
        done = queue.get(ocr.id)
        assert done is not None and done.state == "done", done.to_dict() if done else None
        assert done.result["counts"] == {"added": 1, "unchanged": 0}
    with Repository.open(home) as repo:
        from repository.preservation.ids import object_id

        assert [v.name for v in repo.store.versions(object_id(archive))] == ["v1", "v2"]


def test_the_workflow_reports_unknown_archives_and_stops_when_asked(home: Path) -> None:
    from repository.ingest.ocr import OcrOutcome, ocr_archives

    with Repository.open(home) as repo:
        assert ocr_archives(repo, ["hh-nowhere"]) == [OcrOutcome("hh-nowhere", "missing")]
        assert ocr_archives(repo, ["hh-nowhere", "hh-elsewhere"], stop=lambda: True) == []


@pytest.mark.parametrize(("env", "words"), [({"PATH": "/nonexistent"}, "tesseract-ocr"),
                                            ({"HSAR_OCR_LANGUAGE": "no_such_model"}, "no_such_model.traineddata")])
def test_missing_tesseract_or_model_is_one_clear_error(home: Path, env: dict[str, str], words: str,
                                                       monkeypatch: pytest.MonkeyPatch, ih) -> None:  # noqa: ANN001
    from repository.formats import tesseract

    before = ih.tree(home)
    tesseract.engine_info.cache_clear()
    try:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = hsar(home, "ocr", "--all")
    finally:
        monkeypatch.undo()
        tesseract.engine_info.cache_clear()
    assert result.exit_code == 1 and "[OCR]" in result.output and words in result.output, result.output
    assert "Traceback" not in result.output and ih.tree(home) == before
