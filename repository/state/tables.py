"""State schema (状态库表结构): the tables that are NOT a cache of the store, in SQLAlchemy Core.

The catalogue and the index are caches that ``hsar rebuild-catalog`` recreates from the OCFL store
(DESIGN.md principle 1). Accounts, bearer tokens, background jobs, the access register (利用登记) and the security
log (安全审计日志) are facts the store does not carry, so they live in a database of their own ("state", setting
``state.url``) whose schema changes go through Alembic migrations (``repository/state/migrations``), never ``create_all``.

Portable types only (SQLite and PostgreSQL). Datetimes are written in UTC; SQLite gives them back naive,
meaning UTC. The register names users and archives by identifier, without foreign keys, on purpose: the record
of who used which archive outlives the account and the archive's catalogue row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

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


def utc(value: datetime) -> datetime:
    """A datetime read back from the database as UTC-aware (SQLite returns naive values meaning UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


users = Table(
    "users", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(128), nullable=False),
    Column("password_hash", Text),  # argon2id; NULL: no password login (token-only accounts)
    Column("role", String(16), nullable=False),  # repository.access.Role
    Column("division", String(12), nullable=False),  # scope: this division and everything below it
    Column("active", Boolean, nullable=False, default=True),
    Column("lang", String(8), nullable=False, default="zh"),
    Column("created", _tz(), nullable=False),
    Column("updated", _tz(), nullable=False),
)

tokens = Table(
    "tokens", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the token; never the token
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("created", _tz(), nullable=False),
    Column("last_used", _tz()),
    Column("revoked", _tz()),
    Index(None, "user_id"),
)

access_register = Table(
    "access_register", metadata,
    Column("seq", ID, primary_key=True, autoincrement=False),  # 1, 2, 3 ... (the chain's order)
    Column("at", _tz(), nullable=False),
    Column("username", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(16), nullable=False),  # view / download / export ...
    Column("archive_id", String(128), nullable=False),
    Column("item", Text),  # item number or file path within the archive
    Column("purpose", Text, nullable=False),  # 利用目的
    Column("masked", Boolean, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Index(None, "archive_id", "at"),
    Index(None, "username", "at"),
    Index(None, "at"),
)

jobs = Table(
    "jobs", metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),  # queued | running | done | failed
    Column("username", String(64), nullable=True),
    Column("params", Json),
    Column("dedupe_key", String(128), unique=True, nullable=True),
    Column("progress_done", BigInteger, default=0, server_default=text("0")),
    Column("progress_total", BigInteger, nullable=True),
    Column("message", Text, nullable=True),
    Column("result", Json, nullable=True),
    Column("error_code", String(32), nullable=True),
    Column("attempts", Integer, default=0, server_default=text("0")),
    Column("created_at", _tz(), nullable=False),
    Column("started_at", _tz(), nullable=True),
    Column("finished_at", _tz(), nullable=True),
    # the lease of a running job: the worker running it (host, pid) and its last heartbeat (jobs/queue.py)
    Column("lease_host", String(255), nullable=True),
    Column("lease_pid", Integer, nullable=True),
    Column("lease_beat", _tz(), nullable=True),
    Index(None, "state", "created_at"),
)

#: The paper register (纸质档案登记, 双轨制): one row per paper item (件) as the records office lists it. Not
#: derivable from the store (it describes paper), so it lives here; ``hsar paper import`` replaces the rows of
#: every fonds (全宗) a file holds, in one transaction. Rows name archives by identifier, without foreign keys.
paper_register = Table(
    "paper_register", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("fonds", String(32), nullable=False),  # 全宗号
    Column("catalogue", String(32), nullable=False),  # 目录号
    Column("volume", String(64), nullable=False),  # 案卷号
    Column("item", Integer, nullable=False),  # 件号
    Column("pages", Integer, nullable=False),  # 页数
    Column("box", String(64), nullable=False),  # 盒号
    Column("shelf", String(64)),  # 库房/排/柜/格, normalised "store/row/cabinet/cell"
    Column("reference_code", String(128)),  # 档号
    Column("archive_id", String(128)),  # the electronic archive, when known
    Column("line", Integer, nullable=False),  # line (CSV) or row (XLSX) in the imported file
    Column("source", String(255), nullable=False),  # the imported file's name
    Column("imported", _tz(), nullable=False),
    Index(None, "fonds", "catalogue", "volume", "item"),
    Index(None, "archive_id"),
)

disposal_proposals = Table(
    "disposal_proposals", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), nullable=False),
    Column("reference_code", String(64), nullable=False),  # 档号, as the catalogue had it when proposed
    Column("division", String(12), nullable=False),  # for division-scoped lists
    Column("reason", Text, nullable=False),  # 销毁理由
    Column("state", String(16), nullable=False),  # pending | disposed | rejected
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at", _tz(), nullable=False),
    Column("decided_by", String(64)),  # the second person: approver or rejecter
    Column("decided_at", _tz()),
    Column("note", Text),  # why it was rejected
    Index(None, "archive_id"),
    Index(None, "state", "proposed_at"),
)

security_log = Table(
    # the security log (安全审计日志): sign-ins and their failures and locks, sign-outs, and every change to
    # accounts and tokens, who did it, from where; append-only and hash-chained like the access register
    # (repository.accounts.securitylog). Accounts are named, not referenced: the log outlives them.
    "security_log", metadata,
    Column("seq", ID, primary_key=True, autoincrement=False),  # 1, 2, 3 ... (the chain's order)
    Column("at", _tz(), nullable=False),
    Column("username", String(100), nullable=False),  # who acted (for a sign-in: the name tried)
    Column("role", String(16), nullable=False),  # the actor's role then; "shell", "system", or "" (unknown)
    Column("event", String(32), nullable=False),
    Column("subject", String(100), nullable=False),  # the account acted on ("" for none)
    Column("division", String(12), nullable=False),  # the division of the account concerned ("" none known)
    Column("address", String(64), nullable=False),  # the client's address, or the shell's host
    Column("detail", Text, nullable=False),  # canonical JSON of what changed
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Index(None, "division", "seq"),
    Index(None, "username", "at"),
    Index(None, "subject", "at"),
    Index(None, "at"),
)

login_failures = Table(
    # sign-in failures per account name tried (held or not: the answer never tells whether it exists), and its
    # lock (登录失败处理): repository.accounts.lockout; a row goes with a success, an unlock or a new password
    "login_failures", metadata,
    Column("name", String(100), primary_key=True),  # as the sign-in form gave it (trimmed)
    Column("failures", Integer, nullable=False),  # since first_failed
    Column("first_failed", _tz(), nullable=False),
    Column("locked_until", _tz()),  # NULL: not locked
)

scan_reviews = Table(
    # the open review (开放审核) of a scan's researcher's copy: the boxes OCR proposed to paint over, and the
    # archivist's decision (the boxes approved, or a rejection), for one file's bytes (SHA-512) masked with one set of
    # names (``copy_key``: repository.formats.research_copies.ResearchCopies.key); repository.accounts.scanreviews
    "scan_reviews", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("archive_id", String(128), nullable=False),
    Column("path", String(1024), nullable=False),  # the file's path in the archive (data/...)
    Column("division", String(12), nullable=False),  # the archive's, for division-scoped lists
    Column("sha512", String(128), nullable=False),
    Column("copy_key", String(160), nullable=False),
    Column("state", String(16), nullable=False),  # pending | approved | rejected | superseded | disposed
    Column("pages", Integer, nullable=False),
    Column("proposed", Json, nullable=False),  # {"<page>": {"size": [w, h], "boxes": [[l, t, r, b], ...]}}
    Column("boxes", Json),  # the decision's boxes: {"<page>": [[l, t, r, b], ...]}
    Column("proposed_at", _tz(), nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", _tz()),
    Index(None, "archive_id", "path", "copy_key", unique=True),
    Index(None, "state", "proposed_at"),
    Index(None, "sha512"),
)
