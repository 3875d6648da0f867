"""The Repository owns the home: one table of paths, opening without writing, thread-safe handles, one lock."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from repository.errors import CatalogError, IngestError, PreservationError
from repository.home import LAYOUT, HomePaths, Repository
from repository.preservation.ids import object_id
from repository.services.archives import show


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def test_every_path_of_the_table_lies_in_the_home_and_init_makes_the_folders(home: Path) -> None:
    with Repository.open(home) as repo:
        paths = repo.paths
        for name in LAYOUT:
            assert home in getattr(paths, name).parents
        assert paths.storage == (home / "storage").resolve() and paths.index == (home / "index").resolve()
        assert paths.ingest_lock.parent == paths.staging and paths.audit_log.parent == paths.audit
        assert all(getattr(paths, name).is_dir() for name in ("staging", "rejected", "reports", "keys"))
        assert paths.settings.is_file() and paths.catalog_file.is_file() and paths.ca.is_file()
        assert paths.intent("HH-1").parent == paths.staging and paths.intents() == []


def test_open_and_show_write_nothing(ingested_home: Path, tmp_path: Path) -> None:
    home = shutil.copytree(ingested_home, tmp_path / "home", symlinks=True)
    before = _listing(home)
    with Repository.open(home) as repo:
        archive_id = repo.catalog.archive_ids()[0]
        view = show(repo, archive_id)
        assert view.archive.identifier == archive_id
        assert repo.store.head(object_id(archive_id)) == view.head_version
    assert _listing(home) == before


def test_a_missing_store_is_an_error_and_is_not_created(home: Path) -> None:
    shutil.rmtree(home / "storage")
    with Repository.open(home) as repo, pytest.raises(PreservationError) as caught:
        repo.store  # noqa: B018
    assert caught.value.code == "HOME-STORE" and "hsar --home" in caught.value.render("en")
    assert "init" in caught.value.render("zh")
    assert not (home / "storage").exists()


def test_a_missing_catalogue_is_an_error_and_is_not_created(home: Path) -> None:
    (home / "catalog.sqlite").unlink()
    with Repository.open(home) as repo, pytest.raises(CatalogError) as caught:
        repo.catalog  # noqa: B018
    assert caught.value.code == "HOME-CATALOG"
    assert not (home / "catalog.sqlite").exists()


def test_a_catalogue_without_schema_is_an_error_and_stays_empty(home: Path) -> None:
    (home / "catalog.sqlite").unlink()
    (home / "catalog.sqlite").touch()
    with Repository.open(home) as repo:
        with pytest.raises(CatalogError) as caught:
            repo.catalog  # noqa: B018
        assert caught.value.code == "HOME-CATALOG"
        assert (home / "catalog.sqlite").stat().st_size == 0
        assert repo.create_catalog().archive_ids() == []  # what init and rebuild-catalog do


def test_handles_opened_from_many_threads_at_once_are_made_once(ingested_home: Path) -> None:
    with Repository.open(ingested_home) as repo:
        start = threading.Barrier(8)
        seen: list[tuple[object, object, object, int]] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                start.wait()
                seen.append((repo.catalog, repo.store, repo.search, len(repo.catalog.archive_ids())))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len({id(s[0]) for s in seen}) == len({id(s[1]) for s in seen}) == len({id(s[2]) for s in seen}) == 1
        assert {s[3] for s in seen} == {len(repo.catalog.archive_ids())} and seen[0][3] > 0


def test_the_home_lock_keeps_out_other_threads_and_other_repositories(home: Path) -> None:
    first, second = Repository.open(home), Repository.open(home)
    with first.lock():
        with pytest.raises(IngestError) as caught:
            with second.lock():
                pass
        assert caught.value.code == "ING-BUSY"
        outcome: list[str] = []

        def other_thread() -> None:
            try:
                with first.lock():
                    outcome.append("locked")
            except IngestError as exc:
                outcome.append(exc.code)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert outcome == ["ING-BUSY"]
    with second.lock():  # released
        pass


def test_home_paths_without_settings_use_the_default_layout(tmp_path: Path) -> None:
    paths = HomePaths.of(tmp_path)
    assert paths.storage == tmp_path / "storage" and paths.catalog_file == tmp_path / "catalog.sqlite"
