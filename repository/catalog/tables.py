"""Catalogue schema (目录库表结构): SQLAlchemy Core tables, portable between SQLite and PostgreSQL.

The catalogue is a cache of the OCFL store (DESIGN.md principle 1): every table derived from the store
(``archives`` and the tables hanging off it by ``ON DELETE CASCADE``) can be rebuilt by
:func:`repository.catalog.rebuild.rebuild`. ``audits`` (定期检查 results) survives a rebuild; it names archives
by identifier without a foreign key on purpose. Accounts and the access register (利用登记) are not here at all:
they live in the state database (:mod:`repository.state`), which no rebuild touches.

Types are limited to the portable set: String, Text, Integer, BigInteger, Date,
DateTime(timezone=True), Boolean and the generic JSON type (text in SQLite, ``json`` in PostgreSQL).
Write datetimes in UTC (:func:`repository.catalog.records.utc`): SQLite keeps no offset, so a value read back
is naive and means UTC; the catalogue's readers make every datetime UTC-aware again.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)

from .version import SCHEMA_VERSION as SCHEMA_VERSION  # re-exported: catalog.store checks it here

# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid; PostgreSQL gets 64-bit keys.
ID = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON(none_as_null=True)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _tz() -> DateTime:
    return DateTime(timezone=True)


def _archive_fk() -> ForeignKey:
    return ForeignKey("archives.id", ondelete="CASCADE")


def _shelf_columns(prefix: str = "shelf_") -> list[Column]:
    """Shelf location (库房/排/柜/格)."""
    return [Column(f"{prefix}store", String(32)), Column(f"{prefix}row", Integer),
            Column(f"{prefix}cabinet", Integer), Column(f"{prefix}cell", Integer)]


schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied", _tz(), nullable=False),
)

archives = Table(
    "archives", metadata,
    Column("id", String(128), primary_key=True),
    Column("type", String(16), nullable=False),
    Column("package_type", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("division", String(12), nullable=False),
    Column("institution", Text, nullable=False),
    Column("fonds", String(32), nullable=False),  # 全宗号
    Column("reference_code", String(128), nullable=False),  # 档号
    Column("year", Integer, nullable=False),
    Column("retention", String(8), nullable=False),
    Column("access", String(16), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    # household (一户一档)
    Column("status", String(16)),
    Column("status_since", Date),
    Column("security_type", String(32)),
    Column("income_band", String(32)),
    Column("head_name", String(64)),
    Column("head_resident_id", String(18)),
    # housing unit (一套一档)
    Column("project", Text),
    Column("estate", String(128)),
    Column("building", String(32)),
    Column("entrance", String(32)),
    Column("room", String(32)),
    Column("address", Text),
    # paper volume (案卷) of the current description
    Column("volume_catalogue", String(32)),
    Column("volume_number", String(64)),
    Column("volume_box", String(64)),
    *_shelf_columns(),
    # the whole current description, enough to render `hsar show` without the store
    Column("description", Json, nullable=False),
    Column("head_version", String(16), nullable=False),
    Column("head_seq", Integer, nullable=False),
    Column("created", _tz(), nullable=False),
    Column("updated", _tz(), nullable=False),
    # division-prefix LIKE (the division tree): a plain index serves SQLite; PostgreSQL needs pattern ops
    # (created below, as DDL: declaring postgresql_ops here imported the PostgreSQL dialect in every process)
    Index(None, "division").ddl_if(dialect="sqlite"),
    Index(None, "type"),
    Index(None, "status"),
    Index(None, "reference_code"),
    Index(None, "head_resident_id"),
    Index(None, "estate", "building", "room"),
    # the statistics census reads archives, items and files from these alone (covering: no table row read)
    Index("ix_archives_census", "division", "type", "security_type", "status", "year", "id", "head_seq"),
)

event.listen(archives, "after_create", DDL(
    "CREATE INDEX ix_archives_division ON archives (division varchar_pattern_ops)").execute_if(dialect="postgresql"))

versions = Table(
    "versions", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), _archive_fk(), nullable=False),
    Column("number", String(16), nullable=False),  # OCFL "v1", "v2", ...
    Column("seq", Integer, nullable=False),
    Column("created", _tz(), nullable=False),
    Column("message", Text, nullable=False),
    Column("ocfl_user", Text),  # OCFL version user
    Column("sip_name", Text, nullable=False),
    Column("package_type", String(32), nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("checks", Json),  # summary of the four-property report (四性检测)
    # the paper volume as described at this version (supplements may be separately filed, 另行立卷)
    Column("volume_catalogue", String(32)),
    Column("volume_number", String(64)),
    Column("volume_box", String(64)),
    *_shelf_columns(),
    Column("separately_filed", Boolean, nullable=False, default=False),
    Column("original_volume", String(64)),
    UniqueConstraint("archive_id", "number"),
    UniqueConstraint("archive_id", "seq"),
)

items = Table(
    "items", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), _archive_fk(), nullable=False),
    Column("number", Integer, nullable=False),  # 件号
    Column("material_class", String(16), nullable=False),
    Column("subtype", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("date", Date, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("version_added", String(16), nullable=False),
    UniqueConstraint("archive_id", "number"),
    Index(None, "material_class"),
    Index("ix_items_census", "archive_id", "number", "material_class"),
)

paper_refs = Table(
    "paper_refs", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), _archive_fk(), nullable=False),
    Column("item_number", Integer, nullable=False),
    Column("catalogue", String(32), nullable=False),  # 目录号
    Column("volume", String(64), nullable=False),  # 案卷号
    Column("item", Integer, nullable=False),  # 件号
    Column("page_start", Integer, nullable=False),
    Column("page_end", Integer, nullable=False),
    Column("box", String(64), nullable=False),  # 盒号
    *_shelf_columns(),
    UniqueConstraint("archive_id", "item_number"),
    Index(None, "volume"),
    Index(None, "box"),
)

files = Table(
    "files", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), _archive_fk(), nullable=False),
    Column("version_id", ID, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("path", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha512", String(128), nullable=False),
    Column("puid", String(32)),
    Column("format_name", Text),
    Column("format_version", String(64)),
    Column("policy", String(32)),
    Column("item_number", Integer),
    Column("version_added", String(16), nullable=False),
    UniqueConstraint("version_id", "path"),
    Index(None, "archive_id"),
    Index(None, "puid"),
    # no index on sha512: no query reads files by digest, and every version's rows went into it at random
    # places (128 hex digits each): half the cost of a supplement's carried rows (OBSOLETE_INDEXES)
    Index("ix_files_census", "version_id", "item_number", "puid", "format_name", "size"),
)

events = Table(
    "events", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), _archive_fk(), nullable=False),
    Column("version_id", ID, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("identifier", String(128), nullable=False),
    Column("type", String(64), nullable=False),
    Column("datetime", _tz(), nullable=False),
    Column("outcome", String(32)),
    Column("outcome_detail", Text),
    Column("detail", Text),
    Column("agent", Text),
    Column("object_path", Text),
    UniqueConstraint("archive_id", "identifier"),
    Index(None, "archive_id", "datetime"),
    Index(None, "type"),
)

relations = Table(
    "relations", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), _archive_fk(), nullable=False),
    Column("type", String(32), nullable=False),  # occupies / occupiedBy (房户对接)
    Column("target", String(128), nullable=False),  # no FK: the target may not be catalogued (yet)
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Index(None, "archive_id"),
    Index(None, "target"),
)

people = Table(
    "people", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), _archive_fk(), nullable=False),
    Column("role", String(16), nullable=False),  # head / member
    Column("name", String(64), nullable=False),
    Column("resident_id", String(18), nullable=False),
    Column("relation", String(16)),
    Index(None, "resident_id"),
    Index(None, "archive_id"),
)

audits = Table(
    "audits", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), nullable=False),
    Column("version", String(16)),  # head version checked
    Column("started", _tz(), nullable=False),
    Column("finished", _tz()),
    Column("result", String(16), nullable=False),  # intact / repaired / failed (audit.result.RESULTS)
    Column("files_checked", Integer, nullable=False, default=0),
    Column("bytes_checked", BigInteger, nullable=False, default=0),
    Column("signature_ok", Boolean),
    Column("repaired_from", Text),  # replica root used for a repair
    Column("agent", Text),
    Column("detail", Json),  # problems found, by code
    Index(None, "archive_id", "finished"),
    Index(None, "result"),
    Index(None, "archive_id", "version"),  # known_heads: a covering index, not the whole table
)

disposals = Table(  # archives disposed of (销毁): read from the store's tombstones, so rebuilt with the rest
    "disposals", metadata,
    Column("archive_id", String(128), primary_key=True),
    Column("reference_code", String(64), nullable=False),
    Column("division", String(12), nullable=False),
    Column("type", String(16), nullable=False),
    Column("retention", String(8), nullable=False),
    Column("disposed_at", _tz(), nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("approved_by", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("tombstone", Json, nullable=False),  # the tombstone's JSON as stored
    Index(None, "division"),
)

#: Tables filled from the store; ``clear()`` and ``rebuild()`` touch only these (children cascade).
DERIVED = (archives, versions, items, paper_refs, files, events, relations, people, disposals)


#: indexes catalogues were once made with and no longer need: :meth:`~repository.catalog.store.Catalog.create`
#: drops them (``hsar init``, ``hsar rebuild-catalog``)
OBSOLETE_INDEXES = ("ix_files_sha512",)

#: indexes added after catalogues were first made: :meth:`~repository.catalog.store.Catalog.create` (``hsar
#: init``, ``hsar rebuild-catalog``) and ``hsar serve`` at start add the missing ones to an existing catalogue
LATER_INDEXES = (*audits.indexes, *(i for table in (archives, items, files) for i in table.indexes
                                    if i.name in ("ix_archives_census", "ix_items_census", "ix_files_census")))
