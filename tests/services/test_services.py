"""The use-cases of repository.services on real homes: values returned, nothing printed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from repository.errors import HsarError, UsageError
from repository.home import Repository
from repository.search.results import SearchRequest
from repository.services import archives, auditlog, catalog, homes, ingest, search, sips
from repository.services import audit as auditing


def test_find_sips_expands_a_folder_and_names_what_it_skipped(demo, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "readme.txt").write_text("not a SIP", "utf-8")
    (folder / "b.zip").write_bytes(b"PK")
    bag = shutil.copytree(demo.sips()[0], folder / "a-bag")
    found = ingest.find_sips([folder])
    assert found.sips == (bag, folder / "b.zip") and found.skipped == (folder / "readme.txt",)
    assert ingest.find_sips([bag]).sips == (bag,)  # a bag named is a SIP, not a folder to expand


def test_ingest_returns_a_summary_and_refuses_no_sips(demo, repo: Repository, capsys) -> None:  # noqa: ANN001
    seen: list[str] = []
    first = demo.sips()[0]
    summary = ingest.ingest(repo, [first, first], progress=lambda o: seen.append(o.status))
    assert [o.status for o in summary.outcomes] == seen == ["ingested", "duplicate"]
    assert summary.ok and summary.counts == {"ingested": 1, "duplicate": 1, "rejected": 0}
    with pytest.raises(UsageError):
        ingest.ingest(repo, [])
    assert capsys.readouterr() == ("", "")


def test_show_and_not_found(ingested_home: Path, demo) -> None:  # noqa: ANN001
    archive_id = demo.entry(demo.sips()[0])["archive"]
    with Repository.open(ingested_home) as repo:
        assert archives.show(repo, archive_id).archive.identifier == archive_id
        with pytest.raises(HsarError) as caught:
            archives.show(repo, "no-such-archive")
    assert caught.value.code == "NOT-FOUND" and "no-such-archive" in caught.value.render("en")


def test_search_masks_on_request(ingested_home: Path, demo) -> None:  # noqa: ANN001
    archive_id = next(e["archive"] for e in demo.entries if e["archive"].startswith("hh-"))
    with Repository.open(ingested_home) as repo:
        shown = json.dumps(archives.show(repo, archive_id).to_dict(), ensure_ascii=False)
        resident_id = re.findall(r"\b\d{17}[\dX]\b", shown)[0]
        plain = search.search(repo, SearchRequest(query=resident_id))
        masked = search.search(repo, SearchRequest(query=resident_id), mask=True)
    assert archive_id in [h.archive_id for h in plain.hits] == [h.archive_id for h in masked.hits]
    # the index holds the number only as a keyed digest: no hit can carry it, masked on request or not
    assert resident_id not in json.dumps(plain.to_dict()) and resident_id not in json.dumps(masked.to_dict())


def test_reindex_and_rebuild_catalog_from_storage(ingested_home: Path, tmp_path: Path) -> None:
    home = shutil.copytree(ingested_home, tmp_path / "home", symlinks=True)
    shutil.rmtree(home / "index")
    (home / "catalog.sqlite").write_bytes(b"not a database" * 100)
    with Repository.open(home) as repo:
        rebuilt = catalog.rebuild_catalog(repo)
        assert rebuilt.set_aside is not None and rebuilt.set_aside.read_bytes().startswith(b"not a database")
        calls: list[tuple[int, int]] = []
        done = search.reindex(repo, batch=2, progress=lambda n, total: calls.append((n, total)))
        assert done.indexed == done.in_store == rebuilt.archives == len(repo.catalog.archive_ids()) > 2
        assert calls[-1] == (done.indexed, done.in_store)
        assert repo.search.count() == done.indexed


def test_audit_log_tail_and_verify(ingested_home: Path, tmp_path: Path) -> None:
    home = shutil.copytree(ingested_home, tmp_path / "home", symlinks=True)
    with Repository.open(home) as repo:
        assert auditlog.tail(repo, 5) == ()  # no log yet
        run = auditing.audit(repo, auditing.selection(["all"]))
        assert run.ok and len(run.archives) > 2
        lines = auditlog.tail(repo, 2)
        assert len(lines) == 2 and lines[-1].entry["seq"] == len(auditlog.tail(repo, 1000))
        assert auditlog.verify(repo).ok
        log = repo.paths.audit_log
        kept = log.read_text("utf-8").splitlines(keepends=True)
        log.write_text("".join(kept[:1] + kept[2:]), "utf-8")  # an entry deleted
        assert not auditlog.verify(repo).ok


def test_the_tail_is_read_from_the_end_and_the_pages_verification_is_remembered_until_the_log_changes(
        ingested_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    home = shutil.copytree(ingested_home, tmp_path / "home", symlinks=True)
    with Repository.open(home) as repo:
        run = auditing.audit(repo, auditing.selection(["all"]))
        log = repo.paths.audit_log
        whole = log.read_text("utf-8").splitlines()
        monkeypatch.setattr(auditlog, "_BLOCK", 64)  # lines longer than a block, many blocks
        for count in (1, 2, 3, len(whole) - 1, len(whole), len(whole) + 5):
            assert [line.raw for line in auditlog.tail(repo, count)] == whole[-count:]
        assert auditlog.tail(repo, 0) == ()
        calls = []
        real = auditlog.verify_log
        monkeypatch.setattr(auditlog, "verify_log", lambda r: calls.append(1) or real(r))
        assert run.ok and auditlog.verified(repo).ok and auditlog.verified(repo).ok
        assert len(calls) == 1  # nothing changed: remembered
        auditing.audit(repo, auditing.selection(["all"]))  # appends
        assert auditlog.verified(repo).ok and len(calls) == 2
        # an entry altered in place, same size, its modification time put back: the change time still moved
        data, st = bytearray(log.read_bytes()), log.stat()
        at = data.index(b'"outcome":"success"')
        data[at + 11:at + 18] = b"SUCCESS"
        log.write_bytes(bytes(data))
        os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert log.stat().st_size == st.st_size and log.stat().st_mtime_ns == st.st_mtime_ns
        found = auditlog.verified(repo)
        assert not found.ok and [i.code for i in found.issues] == ["AUD019"] and len(calls) == 3


def test_audit_selection_takes_one_mode() -> None:
    assert auditing.selection([]).mode == "due"
    assert auditing.selection([], ("HH-1",)).archives == ("HH-1",)
    assert auditing.selection([], sample=3, repair=False).repair is False
    with pytest.raises(UsageError) as caught:
        auditing.selection(["all"], ("HH-1",))
    assert "--all --archive" in caught.value.render("en") and "只能选一个" in caught.value.render("zh")


def test_replicate_without_replicas_and_next_runs(home: Path) -> None:
    with Repository.open(home) as repo:
        result = auditing.replicate(repo)
    assert result.ok and result.replicas == ()
    upcoming = auditing.next_runs(home)
    assert set(upcoming) == {"audit", "replicate", "paper"}


def test_sip_validate_build_and_demo_data(demo, tmp_path: Path) -> None:  # noqa: ANN001
    written = sips.demo_data(tmp_path / "demo", households=1, units=0, seed=3)
    assert written.sips and all(p.exists() for p in written.sips)
    assert sips.validate(written.sips[0]).valid
    broken = shutil.copytree(written.sips[0], tmp_path / "broken")
    (broken / "bagit.txt").unlink()
    assert not sips.validate(broken).valid
    bag = written.sips[0]
    documents = bag / "data"
    metadata = bag / "metadata" / "descriptive.xml"
    out = sips.build(documents, metadata, tmp_path / "built", source_organization="示范市住房保障中心")
    assert sips.validate(out).valid


def test_init_creates_then_keeps(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = homes.init(home)
    assert str(home / "hsar.toml") in first.created and first.kept == []
    again = homes.init(home)
    assert str(home / "hsar.toml") in again.kept and str(home / "keys") in again.kept
