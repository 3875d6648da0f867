"""Catalogue connections: SQLite pragmas and write locking, URLs, the repository home's default catalogue."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from repository import config
from repository.catalog.store import Catalog, normalize_url, open_catalog
from repository.errors import CatalogError


def test_sqlite_connections_get_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    with Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}") as catalog:
        catalog.create()
        with catalog.transaction() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_in_memory_sqlite_works(records, build):
    with Catalog("sqlite://") as catalog:
        catalog.create()
        catalog.record_version(records["hh1"])
        assert catalog.show(build.HH).head_version == "v1"


def test_default_catalogue_is_a_sqlite_file_in_the_home(tmp_path, records, build):
    cfg = config.load(tmp_path / "home", environ={})
    with open_catalog(cfg) as catalog:
        assert catalog.dialect == "sqlite"
        catalog.record_version(records["un1"])
    assert (tmp_path / "home" / "catalog.sqlite").is_file()
    with Catalog(cfg.catalog_url) as again:
        assert again.archive_ids() == [build.UN]


def test_postgres_urls_mean_psycopg_3():
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x") == "sqlite:///x"


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y", "sqlite+nosuchdriver:///x"])
def test_unusable_urls_are_catalog_errors(url):
    with pytest.raises(CatalogError):
        Catalog(url)


def test_an_unreachable_server_is_a_catalog_error(tmp_path):
    catalog = Catalog(f"postgresql+psycopg://nobody@/db?host={tmp_path}&port=1&connect_timeout=2")
    with pytest.raises(CatalogError, match="catalogue"):
        catalog.create()
    catalog.close()


def test_password_is_hidden_in_repr():
    assert "secret" not in repr(Catalog("postgresql+psycopg://u:secret@localhost/db"))


def test_concurrent_writers_wait_for_each_other(tmp_path, records, build):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    with Catalog(url) as catalog:
        catalog.create()
    errors: list[BaseException] = []

    def work(keys: list[str]) -> None:
        try:
            with Catalog(url) as catalog:
                for _ in range(5):
                    for key in keys:
                        catalog.record_version(records[key])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(keys,))
               for keys in (["hh1", "hh2"], ["un1", "hh1"], ["hh2", "un1", "hh1"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Catalog(url) as catalog:
        assert [v.number for v in catalog.show(build.HH).versions] == ["v1", "v2"]
        with catalog.transaction() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 9
