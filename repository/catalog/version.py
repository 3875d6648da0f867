"""The catalogue schema version this hsar reads and writes, in a module of its own: the SQLAlchemy tables
(:mod:`.tables`) and the audit's plain-sqlite reader (:mod:`.audits_sqlite`, which never imports SQLAlchemy)
both check it."""

from __future__ import annotations

SCHEMA_VERSION = 1
