"""The access decision: every role x in/out of scope x open/restricted, and the division-scope rules."""

from __future__ import annotations

import pytest

from repository.access import (
    NATIONAL,
    Action,
    Link,
    Principal,
    Role,
    View,
    covering_scope,
    division_in_scope,
    link_shown,
    linked_in_scope,
    may,
    may_open_documents,
    may_read_report,
    may_see,
    must_register,
    scope_division,
    scope_prefixes,
    sees_personal_data,
    valid_scope,
    view_of,
)

IN, OUT = "320102002", "320104001"  # a street of the scope 玄武区 320102, a street of 秦淮区

# role -> (view of an open archive, of a restricted one, documents of open, documents of restricted)
EXPECTED = {
    Role.ADMIN: (View.FULL, View.FULL, True, True),
    Role.ARCHIVIST: (View.FULL, View.FULL, True, True),
    Role.AUDITOR: (View.ENTRY, View.ENTRY, False, False),
    Role.RESEARCHER: (View.MASKED, View.ENTRY, True, False),
}
CASES = [(role, where, access) for role in Role for where in ("in", "out") for access in ("open", "restricted")]


@pytest.mark.parametrize(("role", "where", "access"), CASES, ids=["-".join(c) for c in CASES])
def test_every_role_in_and_out_of_scope_open_and_restricted(role, where, access):
    who = Principal("u", role, "320102")
    open_view, restricted_view, open_docs, restricted_docs = EXPECTED[role]
    assert may_see(who, IN if where == "in" else OUT) is (where == "in")
    assert view_of(who, access) == (open_view if access == "open" else restricted_view)
    assert may_open_documents(who, access) is (open_docs if access == "open" else restricted_docs)
    assert sees_personal_data(who) is (role in (Role.ADMIN, Role.ARCHIVIST))


@pytest.mark.parametrize(("scope", "division", "seen"), [
    ("320102", "320102", True),  # the district itself
    ("320102", "320102002", True),  # a district covers its streets
    ("320102", "320104", False),  # a sibling district
    ("320102", "3201020", False),  # not a code
    ("320102002", "320102002", True),
    ("320102002", "320102", False),  # a street does not see its district's own archives
    ("320102002", "320102003", False),
    ("320100", "320102002", True),  # a city covers districts and streets
    ("320100", "320100", True),
    ("320100", "320200", False),
    ("320000", "320506", True),  # a province
    ("320000", "330102", False),
    (NATIONAL, "110101", True),  # the national scope covers all
    (NATIONAL, "650102001", True),
    ("32010", "320102", False),  # a malformed scope sees nothing
    ("", "320102", False),
    ("abcdef", "320102", False),
])
def test_division_scope_is_a_subtree(scope, division, seen):
    assert may_see(Principal("u", Role.ARCHIVIST, scope), division) is seen


@pytest.mark.parametrize(("scope", "division", "inside"), [
    ("320105", "320105", True), ("320105", "320105007", True), ("320105", "320116", False),
    ("320100", "320105", True), ("320105", "3201", False),  # not a code
    (NATIONAL, NATIONAL, True), ("320105", NATIONAL, False), (NATIONAL, "12345x", False),
])
def test_a_division_filter_names_something_only_within_the_scope(scope, division, inside):
    assert division_in_scope(Principal("u", Role.ARCHIVIST, scope), division) is inside


def test_scope_prefixes_and_search_division():
    assert scope_prefixes(Principal("u", Role.RESEARCHER, "320100")) == ["3201"]
    assert scope_prefixes(Principal("u", Role.RESEARCHER, "320102")) == ["320102"]
    assert scope_prefixes(Principal("u", Role.RESEARCHER, "320102002")) == ["320102002"]
    assert scope_prefixes(Principal("u", Role.RESEARCHER, "320000")) == ["32"]
    assert scope_prefixes(Principal("u", Role.ADMIN, NATIONAL)) == [""]
    assert scope_prefixes(Principal("u", Role.ADMIN, "999")) == []  # nothing, never everything
    assert scope_division(Principal("u", Role.ADMIN, NATIONAL)) is None
    assert scope_division(Principal("u", Role.ADMIN, "320102")) == "320102"
    assert valid_scope(NATIONAL) and valid_scope("320102002") and not valid_scope("320102000")


def test_prefixes_agree_with_may_see():
    codes = ["320100", "320102", "320102002", "320104", "320104001", "320200", "330102"]
    for scope in ["320000", "320100", "320102", "320102002", NATIONAL]:
        who = Principal("u", Role.ARCHIVIST, scope)
        by_prefix = {c for c in codes if any(c.startswith(p) for p in scope_prefixes(who))}
        assert by_prefix == {c for c in codes if may_see(who, c)}, scope


ROLE_ACTIONS = {
    Role.ADMIN: set(Action),
    Role.ARCHIVIST: {Action.SEARCH, Action.VIEW_RECORD, Action.DOWNLOAD, Action.EXPORT, Action.INGEST, Action.AUDIT,
                     Action.START_AUDIT, Action.READ_REPORTS, Action.READ_LOGS, Action.DISPOSE, Action.REVIEW_SCANS},
    Role.AUDITOR: {Action.SEARCH, Action.AUDIT, Action.READ_REPORTS, Action.READ_LOGS, Action.READ_REGISTER,
                   Action.EXPORT_REGISTER, Action.READ_SECURITY_LOG},
    Role.RESEARCHER: {Action.SEARCH, Action.VIEW_RECORD, Action.DOWNLOAD},
}


@pytest.mark.parametrize("role", list(Role))
def test_role_permissions(role):
    who = Principal("u", role, "320102")
    assert {a for a in Action if may(who, a)} == ROLE_ACTIONS[role]


def test_an_unknown_role_may_do_nothing():
    who = Principal("u", "guest", "320102")  # type: ignore[arg-type]
    assert not any(may(who, a) for a in Action)
    assert not may_open_documents(who, "open") and view_of(who, "open") == View.ENTRY


@pytest.mark.parametrize(("view", "documents", "registered"), [
    (View.FULL, False, True), (View.MASKED, False, False), (View.ENTRY, False, False),
    (View.MASKED, True, True), (View.FULL, True, True)])
def test_what_goes_into_the_access_register(view, documents, registered):
    assert must_register(view, documents) is registered


@pytest.mark.parametrize(("scope", "direction", "other", "shown"), [
    ("320105", "out", "320105007", Link.NAMED), ("320105", "in", "320105007", Link.NAMED),
    ("320105", "out", "320115001", Link.UNNAMED),  # the archive's own link: its type and period, no name
    ("320105", "in", "320115001", Link.HIDDEN),  # the other archive's link to it: nothing
    ("320105", "out", None, Link.UNNAMED), ("320105", "in", None, Link.HIDDEN),  # not catalogued: any division
    ("320100", "in", "320115001", Link.NAMED), (NATIONAL, "out", "650102", Link.NAMED),
    (NATIONAL, "out", None, Link.NAMED), ("abc", "out", "320105", Link.UNNAMED),
])
def test_how_a_linked_archive_is_shown(scope, direction, other, shown):
    assert link_shown(Principal("u", Role.RESEARCHER, scope), direction, other) is shown


def test_linked_in_scope_names_nothing_outside_and_changes_nothing_given():
    record = {"identifier": "un-1", "description": {"relations": [
        {"type": "occupiedBy", "target": "hh-out", "start": "2019-06-06", "end": None},
        {"type": "occupiedBy", "target": "hh-in", "start": "2020-01-01", "end": "2021-01-01"}]},
              "relations": [
        {"direction": "out", "type": "occupiedBy", "other": "hh-out", "other_title": "甲户", "start": "2019-06-06",
         "end": None},
        {"direction": "in", "type": "occupies", "other": "hh-out", "other_title": "甲户", "start": "2019-06-06",
         "end": "2025-01-09"},
        {"direction": "out", "type": "occupiedBy", "other": "hh-in", "other_title": "乙户", "start": "2020-01-01",
         "end": "2021-01-01"},
        {"direction": "out", "type": "occupiedBy", "other": "hh-gone", "other_title": None, "start": "2018-01-01",
         "end": "2018-12-31"}]}
    given = repr(record)
    divisions = {"hh-out": "320115001", "hh-in": "320105007"}
    shown = linked_in_scope(Principal("u", Role.ARCHIVIST, "320105"), record, divisions)
    assert repr(record) == given
    assert "hh-out" not in repr(shown) and "甲户" not in repr(shown) and "2025-01-09" not in repr(shown)
    assert "hh-gone" not in repr(shown)  # not catalogued: its id may name any division
    assert [(r["direction"], r["other"], r["other_title"], r["visible"], r["start"]) for r in shown["relations"]] == [
        ("out", None, None, False, "2019-06-06"), ("out", "hh-in", "乙户", True, "2020-01-01"),
        ("out", None, None, False, "2018-01-01")]
    assert [r["target"] for r in shown["description"]["relations"]] == [None, "hh-in"]
    national = linked_in_scope(Principal("u", Role.ADMIN, NATIONAL), record, divisions)
    assert [(r["other"], r["visible"]) for r in national["relations"]] == [
        ("hh-out", True), ("hh-out", True), ("hh-in", True), ("hh-gone", False)]
    assert linked_in_scope(Principal("u", Role.ARCHIVIST, "320105"), {"relations": []}, {}) == {"relations": []}


@pytest.mark.parametrize(("divisions", "scope"), [
    (["320102"], "320102"), (["320102002", "320102002"], "320102002"),
    (["320102002", "320102003"], "320102"), (["320102", "320102002"], "320102"),  # a district and its street
    (["320102002", "320105"], "320100"), (["320102", "320506"], "320000"), (["320102", "110101"], NATIONAL),
    ([], NATIONAL), (["320102", "32010x"], NATIONAL), (["320102", NATIONAL], NATIONAL),
])
def test_the_narrowest_scope_covering_divisions(divisions, scope):
    assert covering_scope(divisions) == scope
    if scope != NATIONAL:  # it sees them all
        assert all(may_see(Principal("u", Role.ADMIN, scope), d) for d in divisions)


@pytest.mark.parametrize(("role", "scope", "report", "read"), [
    (Role.ADMIN, NATIONAL, None, True), (Role.AUDITOR, NATIONAL, NATIONAL, True),  # national: every report
    (Role.ARCHIVIST, "320102", NATIONAL, False),  # a run over the whole store, whatever it checked
    (Role.ARCHIVIST, "320102", None, False),  # a report that records no scope (older): national only
    (Role.ARCHIVIST, "320102", "320102", True), (Role.ARCHIVIST, "320102", "320102002", True),
    (Role.ARCHIVIST, "320102", "320100", False),  # a run over two districts of the city
    (Role.AUDITOR, "320100", "320102", True), (Role.AUDITOR, "320100", "320200", False),
    (Role.ARCHIVIST, "320102", "garbage", False), (Role.ARCHIVIST, "3201", "320102", False),  # malformed scope
    (Role.RESEARCHER, NATIONAL, NATIONAL, False), (Role.RESEARCHER, "320102", "320102", False),  # no reports
])
def test_who_reads_an_audit_report(role, scope, report, read):
    asked = []

    def scope_of():
        asked.append(report)
        return report

    assert may_read_report(Principal("u", role, scope), scope_of) is read
    assert not (asked and scope == NATIONAL)  # the national scope reads no report to decide
