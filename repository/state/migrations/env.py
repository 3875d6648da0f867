"""Alembic environment of the state database: run in code by :mod:`repository.state.db`, no alembic.ini.

:func:`repository.state.db.upgrade_state` opens the connection (one transaction) and hands it over in
``config.attributes["connection"]``; offline (SQL script) mode is not offered.
"""

from __future__ import annotations

from alembic import context

from repository.state.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the state migrations through repository.state.db.upgrade_state(url)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
