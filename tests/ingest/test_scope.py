"""Who may ingest into which archive (:mod:`repository.ingest.scope`): the declared division and the division
of the archive the identifier names, catalogued or disposed of, each inside the scope; an account that is gone
may ingest nothing."""

from __future__ import annotations

import pytest

from repository.access import Principal, Role
from repository.catalog.disposals import record_disposal
from repository.home import Repository
from repository.ingest.scope import OutOfScope, check_scope, current_principal, refusing_division

XUANWU = Principal("xuanwu", Role.ARCHIVIST, "320102")  # 玄武区
JIANGNING = Principal("jiangning", Role.ARCHIVIST, "320115")  # 江宁区
DISPOSED = "hh-320115-2019-0001"


def _dispose(repo: Repository) -> None:
    record_disposal(repo.catalog, {
        "archive_id": DISPOSED, "reference_code": "J001-ZF·2019-Y-0001", "division": "320115001",
        "type": "household", "retention": "D10", "disposed_at": "2030-01-02T03:04:05+00:00",
        "proposal": {"proposed_by": "jiangning", "approved_by": "admin", "reason": "保管期限届满"}})


def test_a_disposed_archive_keeps_its_division_against_supplements_from_elsewhere(repo: Repository) -> None:
    _dispose(repo)
    assert refusing_division(repo, XUANWU, DISPOSED, "320102008") == "320115001"  # its tombstone's division
    assert refusing_division(repo, JIANGNING, DISPOSED, "320115001") is None  # its own: the ingest says DSP005
    assert refusing_division(repo, XUANWU, "hh-320102-2030-0001", "320102008") is None  # nothing held: new
    assert refusing_division(repo, XUANWU, "hh-320102-2030-0001", "320115001") == "320115001"  # declared
    assert refusing_division(repo, XUANWU, None, None) is None  # unreadable: left to validation
    with pytest.raises(OutOfScope) as held:
        check_scope(repo, XUANWU, "a.zip", DISPOSED, "320102008")
    with pytest.raises(OutOfScope) as declared:
        check_scope(repo, XUANWU, "a.zip", "hh-320115-2030-0009", "320115001")
    assert held.value.code == declared.value.code == "ING-SCOPE"
    assert held.value.held and not declared.value.held
    assert "东山街道 320115001" in declared.value.render("zh") and "玄武区 320102" in declared.value.render("zh")
    assert "320115001" in declared.value.render("en")


def test_the_refusal_for_another_divisions_archive_names_no_division_of_it(repo: Repository) -> None:
    """The identifier is taken (that cannot be hidden), but where the archive lies is not told: neither the
    code nor the name of its division, nor of its district, in either language or in the message's parameters
    (a job's result keeps those); the uploader's own scope is named."""
    _dispose(repo)
    with pytest.raises(OutOfScope) as held:
        check_scope(repo, XUANWU, "a.zip", DISPOSED, "320102008")
    told = [held.value.render("zh"), held.value.render("en"), str(held.value), repr(held.value.params)]
    for text in told:
        for secret in ("320115", "东山街道", "江宁区", "Jiangning", "Dongshan"):
            assert secret not in text, (secret, text)
    assert "玄武区 320102" in told[0] and "a.zip" in told[0] and "a.zip" in told[1]
    assert held.value.msgid != "ingest.out_of_scope"
    # declared outside the scope as well: the declared division is refused first, and named (the uploader's own)
    with pytest.raises(OutOfScope) as both:
        check_scope(repo, XUANWU, "a.zip", DISPOSED, "320115001")
    assert not both.value.held and "东山街道 320115001" in both.value.render("zh")
    # declared nothing readable, archive held elsewhere: not named
    with pytest.raises(OutOfScope) as undeclared:
        check_scope(repo, XUANWU, "a.zip", DISPOSED, None)
    assert undeclared.value.held and "320115" not in undeclared.value.render("zh")


def test_an_uploader_without_an_account_may_ingest_nothing(repo: Repository) -> None:
    nobody = current_principal(repo, "nobody")
    assert refusing_division(repo, nobody, "hh-320102-2030-0001", "320102008") == "320102008"
    assert current_principal(repo, None).username == ""
