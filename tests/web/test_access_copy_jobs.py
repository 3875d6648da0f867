"""Access copies (利用副本) from the web are jobs: the request is checked and queued, ``hsar worker`` makes the
zip under ``exports/<job id>/``, and the job page offers it to the one who asked while the archive is still
theirs to use and the copy is kept. Here the job is run as the worker runs it (its runner, its records)."""

from __future__ import annotations

import shutil
import threading
import tracemalloc
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.accounts.register import list_uses
from repository.accounts.users import disable_user, set_scope
from repository.config import load
from repository.jobs import JobQueue
from repository.jobs.exports import prune_exports
from repository.jobs.tasks import access_copy_name, execute
from repository.state.db import open_state
from repository.web import create_app


@pytest.fixture
def own_app(web_home: Path, tmp_path: Path) -> Flask:
    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    return create_app(home, {"TESTING": True, "SECRET_KEY": "test"})


def _home(app: Flask) -> Path:
    return Path(app.config["HSAR_HOME"])


def _target(archives: dict[str, Any]) -> str:  # noqa: ANN401
    return sorted(i for i, v in archives.items() if v.archive.division.startswith("320105"))[0]


def _ask(client: FlaskClient, wh: Any, archive_id: str, **form: str) -> str:  # noqa: ANN401
    token = wh.csrf_token(client, f"/archives/{archive_id}")
    response = client.post(f"/archives/{archive_id}/access-copy",
                           data={"csrf_token": token, "purpose": "资格复核", **form})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def _run(app: Flask, job_id: str) -> Any:  # noqa: ANN401 - a Job
    with JobQueue.open(_home(app)) as queue:
        execute(queue, job_id, threading.Event())
        return queue.get(job_id)


def _uses(app: Flask, archive_id: str) -> list[tuple[str, str]]:
    with open_state(load(_home(app)).state_url) as state:
        return [(u.username, u.action) for u in list_uses(state, archive_id=archive_id)]


def test_a_copy_is_made_by_the_job_and_offered_on_its_page(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    target = _target(archives)
    before = _uses(own_app, target)  # (a copy of the session's home: tests run before may have used it)
    client = wh.signed_in(own_app, "jianye")
    job_id = _ask(client, wh, target, format="jpeg")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "利用副本" in page and "排队中" in page  # the kind, and queued for the worker
    job = _run(own_app, job_id)
    assert job.state == "done" and job.result["masked"] is False and job.progress_done == job.progress_total
    name = access_copy_name(target)
    assert job.result["files"] == [name] and job.result["documents"] == len(archives[target].files)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f'href="/jobs/{job_id}/export/{name}"' in page and "个人信息未遮蔽" in page
    got = client.get(f"/jobs/{job_id}/export/{name}")
    assert got.status_code == 200 and got.headers["Cache-Control"] == "private, no-store"
    stored = _home(own_app) / "exports" / job_id / name
    assert got.data == stored.read_bytes()
    with zipfile.ZipFile(stored) as copy:
        assert copy.testzip() is None and "资格复核" in copy.read("README.txt").decode("utf-8")
    exports, downloads = before.count(("jianye", "export")), before.count(("jianye", "download"))
    assert _uses(own_app, target).count(("jianye", "export")) == exports + 1  # made once
    assert _uses(own_app, target).count(("jianye", "download")) == downloads + 1  # and received once
    assert client.head(f"/jobs/{job_id}/export/{name}").status_code == 200  # a HEAD sends nothing: no use
    assert _uses(own_app, target).count(("jianye", "download")) == downloads + 1


def test_the_job_makes_the_copy_for_the_account_as_it_is_now(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    """An account disabled, or moved to another district, between asking and the worker's turn gets nothing:
    the job fails NOT-FOUND (as the archive page would answer), no zip is left and no use is registered."""
    target = _target(archives)
    state_url = load(_home(own_app)).state_url
    for change in ("disable", "move"):
        client = wh.signed_in(own_app, "jianye")
        job_id = _ask(client, wh, target, purpose=f"资格复核 {change}")
        with open_state(state_url) as state:
            if change == "disable":
                disable_user(state, "jianye")
            else:
                set_scope(state, "jianye", division="320102")  # 玄武区
        job = _run(own_app, job_id)
        assert job.state == "failed" and job.result["error"]["code"] == "NOT-FOUND", job.result
        assert not list((_home(own_app) / "exports" / job_id).glob("*.zip"))
        assert ("jianye", "export") not in _uses(own_app, target)
        with open_state(state_url) as state:
            from repository.accounts.users import enable_user

            enable_user(state, "jianye")
            set_scope(state, "jianye", division="320105")


def test_a_copy_is_not_given_once_the_archive_is_no_longer_the_users(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    target = _target(archives)
    client = wh.signed_in(own_app, "jianye")
    job_id = _ask(client, wh, target)
    assert _run(own_app, job_id).state == "done"
    name = access_copy_name(target)
    assert client.get(f"/jobs/{job_id}/export/{name}").status_code == 200
    with open_state(load(_home(own_app)).state_url) as state:
        set_scope(state, "jianye", division="320102")  # moved to 玄武区: 建邺区's archives are not theirs
    assert client.get(f"/jobs/{job_id}/export/{name}").status_code == 404
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert name not in page and "请重新制作" in page


def test_a_kept_copy_is_pruned_with_the_exports(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    target = _target(archives)
    client = wh.signed_in(own_app, "jianye")
    job_id = _ask(client, wh, target)
    assert _run(own_app, job_id).state == "done"
    cfg = load(_home(own_app))
    days = int(cfg["transfer.keep_exports_days"])
    with JobQueue(cfg) as queue:
        assert prune_exports(cfg, queue.records) == []  # still kept
        later = datetime.now(UTC) + timedelta(days=days, hours=1)
        assert prune_exports(cfg, queue.records, now=later) == [job_id]
    assert not (_home(own_app) / "exports" / job_id).exists()
    assert client.get(f"/jobs/{job_id}/export/{access_copy_name(target)}").status_code == 404
    assert "请重新制作" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_a_failed_copy_leaves_no_zip_and_no_traceback(own_app: Flask, wh: Any, archives: dict[str, Any],  # noqa: ANN401
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from repository.dip import copies

    def unreadable(*_args: Any, **_kwargs: Any) -> None:  # noqa: ANN401
        raise OSError("a scan that cannot be read")

    target = _target(archives)
    client = wh.signed_in(own_app, "jianye")
    job_id = _ask(client, wh, target)
    monkeypatch.setattr(copies._Part, "entry", unreadable)
    job = _run(own_app, job_id)
    assert job.state == "failed" and job.result["error"]["code"] == "INTERNAL"
    folder = _home(own_app) / "exports" / job_id
    assert not folder.exists() or not any(folder.iterdir())  # no zip, no partial file
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "INTERNAL" in page and "Traceback" not in page
    assert ("jianye", "export") not in _uses(own_app, target)


def test_stored_documents_go_into_the_zip_in_blocks(tmp_path: Path) -> None:
    """A 48 MB document is hashed and zipped with a bounded buffer, not read whole into memory."""
    from repository.dip.copies import _add, _Part

    big = tmp_path / "scan.pdf"
    with open(big, "wb") as handle:
        for n in range(48):
            handle.write(bytes([n]) * (1024 * 1024))
    part = _Part("documents/0001-01.pdf", 1, "data/scan.pdf", path=big)
    tracemalloc.start()
    try:
        entry = part.entry()
        with zipfile.ZipFile(tmp_path / "copy.zip", "w") as zf:
            _add(zf, part)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert entry.size == 48 * 1024 * 1024 and peak < 8 * 1024 * 1024, peak
    with zipfile.ZipFile(tmp_path / "copy.zip") as zf:
        assert zf.read("documents/0001-01.pdf") == big.read_bytes()


def test_a_scan_of_several_pages_is_one_document_of_the_copy(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    """TIFF pages as JPEGs are an entry each in the zip, but one document in the job's summary (it counted pages)."""
    from repository.formats.pages import page_count
    from repository.home import Repository
    from repository.preservation.ids import object_id

    with Repository.open(_home(own_app)) as repo:
        scans = [(i, f) for i, v in sorted(archives.items()) if v.archive.division.startswith("320102")
                 for f in v.files if f.path.endswith(".tif")]
        pages = {(i, f.path): page_count(repo.store.content_path(object_id(i), f.path)) or 0 for i, f in scans}
    (archive_id, path), count = max(pages.items(), key=lambda kv: kv[1])
    assert count > 1, "the demo holds a scan of several pages"
    item = next(f.item_number for f in archives[archive_id].files if f.path == path)
    files = [f for f in archives[archive_id].files if f.item_number == item]
    client = wh.signed_in(own_app, "xuanwu")
    job = _run(own_app, _ask(client, wh, archive_id, items=str(item), format="jpeg"))
    assert job.state == "done", job.result
    with zipfile.ZipFile(_home(own_app) / "exports" / job.id / access_copy_name(archive_id)) as copy:
        jpegs = [n for n in copy.namelist() if n.endswith(".jpg")]
    assert len(jpegs) >= count and job.result["documents"] == len(files)
    assert f"{len(files)} 份文件" in client.get(f"/jobs/{job.id}").get_data(as_text=True)
