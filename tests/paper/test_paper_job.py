"""Reconciliation as a job (the ``paper`` kind): started from ``/paper``, run by the worker's runner, its result
stored in the home (``reports/paper-reconciliation.sqlite``) and read by every user's page within their
division scope; the page never reconciles. And the catalogue's item rows give the same findings as the
descriptions they were read from."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from repository.demo.paper import plant, register_csv, register_of
from repository.home import Repository
from repository.jobs.forked import ForkedError
from repository.paper import compute as computing
from repository.paper.reconcile import match, reconcile
from repository.services import paper, paper_stored

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
HEADER = "全宗号,目录号,案卷号,件号,页数,盒号,存放位置,档号,档案标识\n"
ROW = '<tr class="severity-'



def _token(client: FlaskClient) -> str:
    return TOKEN.search(client.get("/paper").get_data(as_text=True)).group(1)


def _import(home: Path, data: bytes, name: str = "planted.csv") -> None:
    with Repository.open(home) as repo:
        paper.import_register(repo, data=data, name=name)


@pytest.fixture
def planted(demo, paper_home: Path) -> Path:  # noqa: ANN001
    """The demo home with the planted register and a register row of an archive the catalogue lacks."""
    rows, _ = plant(register_of(demo.root))
    _import(paper_home, register_csv(rows))
    _import(paper_home, (HEADER + "J009,1,2020-0001,1,3,B-1,1库1排1柜1格,J009-ZF·2020-Y-0001,hh-nowhere\n").encode(),
            "other.csv")
    return paper_home


def test_the_job_stores_the_whole_repository_and_each_scope_reads_its_part(planted: Path, login, ph) -> None:  # noqa: ANN001
    archivist = login(planted, "jianye")
    before = archivist.get("/paper").get_data(as_text=True)
    assert 'id="paper-none"' in before and 'id="paper-run"' in before and ROW not in before
    assert archivist.post("/paper/run", data={"csrf_token": _token(archivist)}).status_code == 303
    (job,) = ph.run_paper_jobs(planted)
    assert job.state == "done" and job.kind == "paper"
    assert (job.progress_done, job.progress_total) == (4, 4)  # the forked run's progress, recorded here
    with Repository.open(planted) as repo:
        path = repo.paths.paper_report
        national = paper.reconcile_paper(repo, [""])  # the same reconciliation, now, in the shell
        district = paper.reconcile_paper(repo, ["320105"])
    assert path.is_file() and path.parent.name == "reports" and not list(path.parent.glob(".*.tmp"))
    # the job's own result counts what its starter may see: 建邺区's part, not the whole repository
    assert (job.result["register_rows"], job.result["electronic_items"], job.result["scope"]) == \
        (district.register_rows, district.electronic_items, "320105")
    assert district.register_rows < national.register_rows
    shown = archivist.get(f"/jobs/{job.id}").get_data(as_text=True)  # the job page links back to the page
    assert "纸质档案核对" in shown and 'id="job-paper"' in shown and 'href="/paper"' in shown
    listed = archivist.get("/jobs").get_data(as_text=True)
    assert f"登记表 {district.register_rows} 件，电子文件 {district.electronic_items} 件已核对" in listed
    admin = login(planted, "admin").get("/paper").get_data(as_text=True)
    assert admin.count(ROW) == len(national.findings) == 10 and "J009/1/2020-0001/1" in admin
    assert "由 jianye 发起" in admin and 'id="paper-stale"' not in admin
    assert f"登记表 {national.register_rows} 件，电子文件 {national.electronic_items} 件，发现 10 处差异" in admin

    # 建邺区 (320105): its own findings, counts and CSV, nothing of another district or of no division
    page = archivist.get("/paper").get_data(as_text=True)
    counts = page.split('id="paper-counts"', 1)[1].split("</table>", 1)[0]
    assert page.count(ROW) == 6 and "320116" not in page and "J009" not in page
    assert re.findall(r"<code>(\d+)</code>", counts) == ["320105", "320105007"]
    assert re.findall(r'<td class="num">(\d+)</td>', counts)[8] == "6"  # the district's total
    sheet = list(csv.DictReader(io.StringIO(archivist.get("/paper.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert len(sheet) == 6 and {r["division"][:6] for r in sheet} == {"320105"}
    assert [(f.code, f.ref) for f in district.findings] == \
        [(f.code, f.ref) for f in national.findings if f.division.startswith("320105")]
    assert sorted((r["code"], r["paper_ref"], r["message"]) for r in sheet) == \
        sorted((f.code, f.ref, f.issue.message) for f in district.findings)  # rendered from the stored result
    city = login(planted, "reader")
    assert city.get("/paper").status_code == 403 and city.get("/paper.csv").status_code == 403
    auditor = login(planted, "auditor").get("/paper").get_data(as_text=True)  # 南京市: no row of no division
    assert auditor.count(ROW) == 9 and "J009" not in auditor and 'id="paper-run"' not in auditor


def test_a_second_start_while_one_is_pending_is_that_job(planted: Path, login, ph) -> None:  # noqa: ANN001
    admin, clerk = login(planted, "admin"), login(planted, "jianye")
    assert admin.post("/paper/run", data={"csrf_token": _token(admin)}).status_code == 303
    page = clerk.get("/paper").get_data(as_text=True)
    assert 'id="paper-job"' in page and 'id="paper-run"' not in page  # shown running, no second button
    assert "/jobs/" not in page.split('id="paper-job"', 1)[1].split("</p>", 1)[0]  # admin's job: not his to open
    assert clerk.post("/paper/run", data={"csrf_token": _token(clerk)}).status_code == 303
    with Repository.open(planted) as repo:
        job, new = paper_stored.start_job(repo.cfg, "jianye")
    assert not new and job.username == "admin"
    assert [j.username for j in ph.run_paper_jobs(planted)] == ["admin"]  # one job ran
    assert 'id="paper-run"' in clerk.get("/paper").get_data(as_text=True)  # done: it may start again
    with Repository.open(planted) as repo:
        again, new = paper_stored.start_job(repo.cfg, "jianye")
    assert new and again.id != job.id


def test_a_reimport_makes_the_result_stale(planted: Path, login, ph, demo) -> None:  # noqa: ANN001
    ph.store_reconciliation(planted)
    client = login(planted, "jianye")
    assert 'id="paper-stale"' not in client.get("/paper").get_data(as_text=True)
    _import(planted, register_csv(register_of(demo.root)), "clean.csv")
    page = client.get("/paper").get_data(as_text=True)
    assert 'id="paper-stale"' in page and "结果可能已过时" in page and page.count(ROW) == 6  # the old result
    ph.store_reconciliation(planted, by="jianye")
    fresh = client.get("/paper").get_data(as_text=True)
    assert 'id="paper-stale"' not in fresh and 'id="paper-clean"' in fresh


def test_a_catalogue_change_makes_the_result_stale(planted: Path, login, ph) -> None:  # noqa: ANN001
    """Archives recorded, supplemented or removed after the result was made (here one removed from the
    catalogue, as a disposal removes it) may change its findings: the page says so until it is run again."""
    ph.store_reconciliation(planted)
    client = login(planted, "admin")
    assert 'id="paper-stale-catalogue"' not in client.get("/paper").get_data(as_text=True)
    with Repository.open(planted) as repo:
        assert repo.catalog.delete_archive(sorted(repo.catalog.archive_ids())[0])
    page = client.get("/paper").get_data(as_text=True)
    assert 'id="paper-stale-catalogue"' in page and "又有档案入库、补充或销毁" in page
    assert 'id="paper-stale"' not in page  # the register did not change
    ph.store_reconciliation(planted)
    assert 'id="paper-stale-catalogue"' not in client.get("/paper").get_data(as_text=True)


def test_the_page_without_a_result_says_who_may_run_it(paper_home: Path, login) -> None:  # noqa: ANN001
    auditor = login(paper_home, "auditor")
    page = auditor.get("/paper").get_data(as_text=True)
    assert "须由档案员或管理员运行核对" in page and 'id="paper-run"' not in page
    assert auditor.post("/paper/run", data={"csrf_token": _token(auditor)}).status_code == 403
    assert auditor.get("/paper.csv").status_code == 404
    admin = login(paper_home, "admin").get("/paper").get_data(as_text=True)
    assert 'id="paper-none"' in admin and 'id="paper-run"' in admin and "须由档案员" not in admin


def test_a_failed_job_leaves_the_previous_result(planted: Path, login, ph,  # noqa: ANN001
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ph.store_reconciliation(planted)
    with Repository.open(planted) as repo:
        path = repo.paths.paper_report
    kept = path.read_bytes()
    real = computing.stored_pages

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a store that fails half way
        count = real(*args, **kwargs)

        def stored(e):  # noqa: ANN001, ANN202
            raise OSError("disk gone")
        assert count is not None
        return stored

    monkeypatch.setattr(computing, "stored_pages", broken)
    admin = login(planted, "admin")
    admin.post("/paper/run", data={"csrf_token": _token(admin)})
    (job,) = ph.run_paper_jobs(planted)
    assert job.state == "failed" and job.error_code == "INTERNAL"
    assert path.read_bytes() == kept and not list(path.parent.glob(".*.tmp"))
    page = admin.get("/paper").get_data(as_text=True)
    assert 'id="paper-job-failed"' in page and page.count(ROW) == 10 and 'id="paper-run"' in page


def test_item_rows_give_what_the_descriptions_give(demo, paper_home: Path) -> None:  # noqa: ANN001
    """The item rows of the catalogue (one query) against every description decoded: the same items, field by
    field, and so the same findings with the planted register, scanned pages counted from the same files."""
    rows, expected = plant(register_of(demo.root))
    _import(paper_home, register_csv(rows))
    with Repository.open(paper_home) as repo:
        described = computing.electronic_from_descriptions(repo)
        read = computing.electronic(repo)
        register, _ = computing.register(repo)
        from repository.catalog.paper import item_files

        files = item_files(repo.catalog, {(e.archive_id, e.number) for e in read})
        assert [replace(e, files=()) for e in described] == read  # every compared field, every item
        assert {(e.archive_id, e.number): e.files for e in described if e.files} == \
            {k: tuple(sorted(v)) for k, v in files.items()}  # the stored files of each item
        by_sql = reconcile(match(register, read), computing.stored_pages(repo, [""], files))
        by_description = reconcile(match(register, described), computing.stored_pages(repo, [""]))
    assert by_sql == by_description and sorted((f.code, f.ref) for f in by_sql) == expected
    assert len(read) > 40 and {f.code for f in by_sql} == set(paper.CODES)


def test_the_command_line_stores_what_the_page_reads(planted: Path, login) -> None:  # noqa: ANN001
    from repository.cli import cli

    done = CliRunner().invoke(cli, ["--home", str(planted), "--lang", "en", "paper", "reconcile", "--store"])
    assert done.exit_code == 0 and "paper-reconciliation.sqlite" in done.output, done.output
    refused = CliRunner().invoke(cli, ["--home", str(planted), "paper", "reconcile", "--store", "--json"])
    assert refused.exit_code == 2
    page = login(planted, "admin").get("/paper").get_data(as_text=True)
    assert page.count(ROW) == 10 and "由 shell 发起" in page


def test_a_damaged_result_is_no_result(paper_home: Path, login, ph) -> None:  # noqa: ANN001
    ph.store_reconciliation(paper_home)
    with Repository.open(paper_home) as repo:
        path = repo.paths.paper_report
    path.write_bytes(b"not a database" * 100)
    page = login(paper_home, "admin").get("/paper")
    assert page.status_code == 200 and 'id="paper-none"' in page.get_data(as_text=True)
    ph.store_reconciliation(paper_home)  # the next run replaces it
    assert 'id="paper-made"' in login(paper_home, "admin").get("/paper").get_data(as_text=True)


def test_a_refresh_reconciles_only_what_is_out_of_date(planted: Path, demo) -> None:  # noqa: ANN001
    """``refresh`` (the scheduler's paper job, ``--store --when-changed``) makes the result again when none is
    stored, after a register import and after a catalogue change, and leaves a current one alone."""
    report = None

    def refreshed() -> paper_stored.Refreshed:
        nonlocal report
        with Repository.open(planted) as repo:
            report = repo.paths.paper_report
            return paper_stored.refresh(repo, "scheduler")

    first = refreshed()
    assert first.reason == paper_stored.MISSING and first.made is not None and first.made.started_by == "scheduler"
    made_at = report.stat().st_mtime_ns
    assert refreshed() == paper_stored.Refreshed(None, None) and report.stat().st_mtime_ns == made_at
    _import(planted, register_csv(register_of(demo.root)), "clean.csv")
    assert refreshed().reason == paper_stored.REGISTER
    assert refreshed().made is None
    with Repository.open(planted) as repo:
        assert repo.catalog.delete_archive(sorted(repo.catalog.archive_ids())[0])
    again = refreshed()
    assert again.reason == paper_stored.CATALOGUE and again.to_dict()["reconciled"] is True
    assert refreshed().to_dict() == {"reconciled": False, "reason": None, "made_at": None, "register_rows": None,
                                     "electronic_items": None}


def test_store_when_changed_on_the_command_line(planted: Path) -> None:
    from repository.cli import cli

    def run(*args: str):  # noqa: ANN202
        return CliRunner().invoke(cli, ["--home", str(planted), "--lang", "en", "paper", "reconcile", *args])

    made = run("--store", "--when-changed")
    assert made.exit_code == 0 and "Reconciliation stored in" in made.output, made.output
    current = run("--store", "--when-changed")
    assert current.exit_code == 0 and "still current" in current.output and "nothing to do" in current.output
    alone = run("--when-changed")
    assert alone.exit_code == 2 and "--when-changed goes with --store only" in alone.output


def test_the_scheduler_runs_the_reconciliation_when_it_is_out_of_date(planted: Path, monkeypatch,  # noqa: ANN001
                                                                       stop_the_scheduler) -> None:  # noqa: ANN001
    """``hsar scheduler`` with only ``scheduler.paper`` (03:00): the run stores the reconciliation and says why;
    it is the scheduler's line of that job (the clock starts at 01:00 UTC and sleeps instantly; the scheduler
    stops once the job has started, as SIGTERM would)."""
    from repository.cli import cli

    monkeypatch.setenv("HSAR_SCHEDULER_AUDIT", "")  # the paper job alone
    monkeypatch.setenv("HSAR_SCHEDULER_REPLICATE", "")
    stop_the_scheduler()
    done = CliRunner().invoke(cli, ["--home", str(planted), "--lang", "en", "scheduler"])
    assert done.exit_code == 0, done.output
    (line,) = [x for x in done.output.splitlines() if " job paper: " in x]
    assert line.startswith("2025-03-01 03:00 job paper: done: reconciled and stored again (none was stored; "
                           "register: "), line
    with Repository.open(planted) as repo:
        assert paper_stored.out_of_date(repo) is None


def test_each_stored_file_is_counted_once_for_all_runs(planted: Path, monkeypatch) -> None:  # noqa: ANN001
    """A file's page count is kept by its SHA-512 (the home's cache, kind ``pages``): ingest keeps the counts of
    the PDFs and TIFFs it receives, so the first reconciliation opens no file; with the cache emptied, a run
    counts each file once for all runs after it, gives the same findings, and uses what is kept under each file's
    digest. A damaged file is counted as it is, but its count is never kept under the intact bytes' digest."""
    import shutil

    from repository.formats import pages as pages_module
    from repository.preservation.ids import object_id
    from repository.search.textcache import PAGES

    opened: list[Path] = []
    real = pages_module.page_count

    def counting(path: Path) -> int | None:
        opened.append(path)
        return real(path)

    monkeypatch.setattr(computing, "page_count", counting)
    with Repository.open(planted) as repo:
        cache, by = repo.text_cache, pages_module.counter()
        target = sorted(repo.catalog.archive_ids())[0]
        inventory = repo.store.inventory(object_id(target))
        paths = repo.store.content_paths(object_id(target), inventory=inventory)
        digest_of = {p: d for d, ps in inventory["versions"][inventory["head"]]["state"].items() for p in ps}
        scans = sorted(p for p in paths if p.lower().endswith((".tif", ".tiff")))
        pdfs = sorted(p for p in paths if p.lower().endswith(".pdf"))
        assert pdfs and scans and all(type(cache.get(PAGES, digest_of[p], by)) is int for p in pdfs + scans)
        assert all(cache.get(PAGES, digest_of[p], by) == real(paths[p]) for p in scans)  # kept at ingest, right
        first = computing.compute(repo)
        assert opened == []  # nothing opened, nothing hashed: every count was kept at ingest

        shutil.rmtree(repo.paths.text_cache / PAGES)  # a cache: deleting it loses nothing
        damaged = scans[0]
        original = paths[damaged].read_bytes()
        paths[damaged].write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))  # still a TIFF, other bytes
        again = computing.compute(repo)
        counted = set(opened)
        assert again.findings == first.findings
        assert len(opened) == len(counted) > 10 and paths[damaged] in counted
        assert {p.suffix.lower() for p in counted} == {".tif", ".pdf"}, counted  # no image (one page each)
        assert cache.get(PAGES, digest_of[damaged], by) is None  # counted, not kept
        kept = [p for p in scans[1:] if cache.get(PAGES, digest_of[p], by) is not None]
        assert kept == scans[1:]

        opened.clear()
        second = computing.compute(repo)
        assert second.findings == first.findings
        assert opened == [paths[damaged]]  # only the file whose count could not be kept is opened again

        paths[damaged].write_bytes(original)  # repaired
        opened.clear()
        computing.compute(repo)
        assert opened == [paths[damaged]] and cache.get(PAGES, digest_of[damaged], by) is not None

        # what is kept is what the next run uses, by digest: a count planted under one file's digest shows
        cache.put(PAGES, digest_of[scans[1]], by, 999)
        opened.clear()
        planted_count = computing.compute(repo)
        assert opened == []
        assert planted_count.findings != first.findings  # 999 pages where the register says otherwise


def test_the_scheduled_reconciliation_runs_in_a_child_process(planted: Path, monkeypatch) -> None:  # noqa: ANN001
    """The scheduler's paper job forks for its run, so the memory of a large reconciliation goes back with the
    child; what the child raised, or its death, becomes the run's error."""
    import os
    import threading
    from datetime import UTC, datetime

    run = paper_stored.scheduled_refresh(planted)
    now, stop = datetime.now(UTC), threading.Event()
    done = run(now, stop)
    assert done.reason == paper_stored.MISSING and done.made is not None and done.made.started_by == "scheduler"
    assert run(now, stop) == paper_stored.Refreshed(None, None)  # a child's work is what the next one sees

    monkeypatch.setattr(paper_stored, "refresh", lambda repo, by: paper_stored.Refreshed(str(os.getpid()), None))
    assert run(now, stop).reason != str(os.getpid())

    def fails(repo, by):  # noqa: ANN001, ANN202
        raise ValueError("the register is unreadable")

    monkeypatch.setattr(paper_stored, "refresh", fails)
    with pytest.raises(ValueError, match="the register is unreadable"):  # the child's own exception
        run(now, stop)
    monkeypatch.setattr(paper_stored, "refresh", lambda repo, by: os._exit(3))
    with pytest.raises(ForkedError, match="hsar-paper-refresh ended without an answer \\(exit status 3\\)"):
        run(now, stop)
