"""Who may see what: the web application asks :mod:`repository.access` (the one access decision) through
this module only, so a change of that API is a change here."""

from __future__ import annotations

from ...access import (
    NATIONAL,
    Action,
    Principal,
    Role,
    View,
    division_in_scope,
    linked_in_scope,
    may,
    may_ingest_into,
    may_open_documents,
    may_see,
    must_register,
    national,
    receives_originals,
    scope_division,
    scope_prefixes,
    sees_personal_data,
    valid_scope,
    view_of,
)

__all__ = ["NATIONAL", "Action", "Principal", "Role", "View", "division_in_scope", "linked_in_scope", "may",
           "may_ingest_into", "may_open_documents", "may_see", "must_register", "national", "scope_division", "scope_prefixes",
           "receives_originals", "sees_personal_data", "valid_scope", "view_of"]
