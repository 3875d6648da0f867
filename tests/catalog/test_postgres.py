"""PostgreSQL and SQLite give the same answers (the other catalogue tests run on both; this compares them).

Needs the PostgreSQL server binaries (``apt-get install -y postgresql``) and psycopg 3; skipped otherwise.
"""

from __future__ import annotations

from repository.catalog.store import Catalog


def test_postgresql_answers_equal_sqlite_answers(pg_url, tmp_path, records, build):
    plain_url = pg_url.replace("postgresql+psycopg://", "postgresql://")  # hsar.toml may say just postgresql://
    views = []
    for url in (plain_url, f"sqlite:///{tmp_path / 'c.sqlite'}"):
        with Catalog(url) as catalog:
            catalog.create()
            for rec in records.values():
                catalog.record_version(rec)
            views.append((catalog.dialect, catalog.show(build.HH), catalog.show(build.UN), catalog.stats(),
                          catalog.list_archives(["320102"])))
    (pg_name, *pg), (lite_name, *lite) = views
    assert (pg_name, lite_name) == ("postgresql", "sqlite")
    assert pg == lite
    assert pg[0].to_dict() == lite[0].to_dict()


def test_division_prefix_index_uses_pattern_ops_on_postgresql_only(pg_url, tmp_path):
    """The division tree is searched by prefix LIKE: PostgreSQL needs varchar_pattern_ops for an index to
    serve it (in a non-C collation); SQLite gets a plain index. Neither repository imports the other's dialect."""
    from sqlalchemy import inspect, text

    with Catalog(pg_url) as catalog:
        catalog.create()
        with catalog._engine.connect() as conn:
            definitions = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'archives'")).scalars()
            division = [d for d in definitions if "(division" in d and "ix_archives_census" not in d]
    assert len(division) == 1 and "varchar_pattern_ops" in division[0]
    with Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}") as catalog:
        catalog.create()
        indexes = inspect(catalog._engine).get_indexes("archives")
    assert [i["column_names"] for i in indexes if i["column_names"] == ["division"]] == [["division"]]
