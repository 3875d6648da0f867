"""The access register (利用登记) as each reader may see it: below the national scope, the register page, its
CSV and the JSON API list only the uses of archives in the reader's scope (an archive of another division, or
one the catalogue does not know, is not named), paged after the filter, one decision for all three
(:mod:`repository.services.uses`). The chain's verification stays the whole register's."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, insert

from repository.access import Principal, Role
from repository.accounts.register import record_use
from repository.accounts.tokens import create_token
from repository.accounts.users import add_user
from repository.catalog import tables as ct
from repository.config import load as load_config
from repository.home import Repository
from repository.services import uses
from repository.state import tables as st
from repository.state.db import open_state
from repository.web import create_app
from repository.web.gateway import accounts as gateway

ROW = re.compile(r"<tr><td>(\d+)</td>")


@pytest.fixture
def home(web_home: Path, tmp_path: Path, wh, archives: dict[str, Any]) -> tuple[Path, dict[str, list[str]]]:  # noqa: ANN001
    """A copy of the web tests' home with an empty register, two district auditors (玄武区, 建邺区), and seven
    uses: of the 玄武区 archive, of the two 建邺区 archives, and of an archive nobody catalogued."""
    home = Path(shutil.copytree(web_home, tmp_path / "home", symlinks=True))
    by_division: dict[str, list[str]] = {}
    for archive_id, view in sorted(archives.items()):
        by_division.setdefault(view.archive.division[:6], []).append(archive_id)
    xuanwu, jianye = by_division["320102"], by_division["320105"]
    assert len(xuanwu) == 1 and len(jianye) == 2
    reader = Principal("reader", Role.RESEARCHER, "320100")
    with open_state(load_config(home).state_url) as state:
        with state.transaction(write=True) as conn:
            conn.execute(delete(st.access_register))
        add_user(state, "aud-xuanwu", "auditor", "320102", password=wh.PASSWORD)
        add_user(state, "aud-jianye", "auditor", "320105", password=wh.PASSWORD)
        for archive_id in (xuanwu[0], jianye[0], "NO-SUCH-ARCHIVE", xuanwu[0], jianye[1], xuanwu[0], jianye[0]):
            record_use(state, reader, "view", archive_id, "复核")
    return home, {"xuanwu": xuanwu, "jianye": jianye}


def _app(home: Path) -> Flask:
    return create_app(home, {"SECRET_KEY": "x", "HSAR_WARM": False})


def _client(wh, app: Flask, username: str) -> FlaskClient:  # noqa: ANN001
    return wh.signed_in(app, username)  # the web tests' own sign-in (purpose of use: work)


def _seqs(page: str) -> list[int]:
    return [int(n) for n in ROW.findall(page)]


def test_a_district_auditor_sees_the_uses_of_its_own_archives_only(wh, home, monkeypatch) -> None:  # noqa: ANN001
    root, ids = home
    app = _app(root)
    jianye = _client(wh, app, "aud-jianye")
    page = jianye.get("/register").get_data(as_text=True)
    assert _seqs(page) == [2, 5, 7]
    assert ids["xuanwu"][0] not in page and "NO-SUCH-ARCHIVE" not in page
    assert "登记链校验通过" in page and "共 7 条" not in page  # verified whole; no count of the whole register
    assert _seqs(jianye.get(f"/register?archive={ids['xuanwu'][0]}").get_data(as_text=True)) == []
    assert _seqs(jianye.get(f"/register?archive={ids['jianye'][0]}").get_data(as_text=True)) == [2, 7]
    csv = jianye.get("/register.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert [line.split(",")[0] for line in csv[1:]] == ["2", "5", "7"]
    assert _seqs(_client(wh, app, "aud-xuanwu").get("/register").get_data(as_text=True)) == [1, 4, 6]
    assert _seqs(_client(wh, app, "auditor").get("/register").get_data(as_text=True)) == [1, 2, 4, 5, 6, 7]  # 南京市
    national = _client(wh, app, "admin").get("/register").get_data(as_text=True)
    assert _seqs(national) == [1, 2, 3, 4, 5, 6, 7] and "登记链校验通过（共 7 条）" in national

    # pages are cut after the filter, whether the uses are asked for by the scope's archives (a small scope)
    # or the register is read in chunks (a large one)
    monkeypatch.setattr(gateway, "REGISTER_PAGE", 2)
    monkeypatch.setattr(uses, "CHUNK", 2)
    for in_list in (uses.IN_LIST, 0):
        monkeypatch.setattr(uses, "IN_LIST", in_list)
        first = jianye.get("/register").get_data(as_text=True)
        assert _seqs(first) == [2, 5] and "page=2" in first
        second = jianye.get("/register?page=2").get_data(as_text=True)
        assert _seqs(second) == [7] and "page=3" not in second


def test_the_api_pages_the_register_after_the_scope(home) -> None:  # noqa: ANN001
    root, ids = home
    with open_state(load_config(root).state_url) as state:
        token = create_token(state, "aud-jianye", "t")[1]
    client = _app(root).test_client()

    def entries(query: str = "") -> list[int]:
        found = client.get(f"/api/v1/register{query}", headers={"Authorization": f"Bearer {token}"})
        assert found.status_code == 200
        return [e["seq"] for e in found.get_json()["entries"]]

    assert entries() == [2, 5, 7]
    assert entries("?limit=1&offset=1") == [5]  # not the second entry of the whole register
    assert entries("?limit=2&offset=2") == [7]
    assert entries(f"?archive={ids['xuanwu'][0]}") == []
    assert entries("?archive=NO-SUCH-ARCHIVE") == []


def test_a_disposed_archive_keeps_its_division_for_the_register(home) -> None:  # noqa: ANN001
    root, _ids = home
    from datetime import UTC, datetime

    with Repository.open(root) as repo:
        with repo.catalog.transaction(write=True) as conn:
            conn.execute(insert(ct.disposals).values(
                archive_id="NO-SUCH-ARCHIVE", reference_code="X", division="320105", type="household",
                retention="30", disposed_at=datetime(2026, 1, 1, tzinfo=UTC), proposed_by="a", approved_by="b",
                reason="r", tombstone={}))
        assert repo.catalog.divisions_of(["NO-SUCH-ARCHIVE", "NOT-EITHER"]) == {"NO-SUCH-ARCHIVE": "320105"}
        with open_state(repo.cfg.state_url) as state:
            seen = uses.uses_in_scope(state, repo.catalog, Principal("j", Role.AUDITOR, "320105"), uses.UseFilter())
    assert [e.seq for e in seen] == [2, 3, 5, 7]


def test_the_api_audit_log_shows_a_reader_the_events_of_its_archives_only(home) -> None:  # noqa: ANN001
    from repository.preservation.auditlog import AuditLog

    root, ids = home
    with Repository.open(root) as repo:
        log = AuditLog(repo.paths.audit_log.parent)
        names = [ids["xuanwu"][0], ids["jianye"][0], "NO-SUCH-ARCHIVE", ids["jianye"][1]] * 30
        log.append({"kind": "premis-event", "archive_id": a, "object_id": f"urn:x:{a}", "copy": None,
                    "event": {"type": "fixity check", "n": n}} for n, a in enumerate(names))
        with open_state(repo.cfg.state_url) as state:
            tokens = {u: create_token(state, u, "t")[1] for u in ("aud-jianye", "xuanwu", "admin", "reader")}
    client = _app(root).test_client()

    def entries(user: str, count: int) -> list[dict[str, Any]]:
        found = client.get(f"/api/v1/audit/log?count={count}", headers={"Authorization": f"Bearer {tokens[user]}"})
        assert found.status_code == 200, found.get_json()
        return found.get_json()["entries"]

    jianye = entries("aud-jianye", 50)
    assert len(jianye) == 50 and {e["archive_id"] for e in jianye} == set(ids["jianye"])
    assert [e["event"]["n"] for e in jianye][-2:] == [117, 119]  # the newest, oldest first
    xuanwu = entries("xuanwu", 1000)  # an archivist: its district's events, every one there is
    assert {e["archive_id"] for e in xuanwu} == {ids["xuanwu"][0]}
    assert len([e for e in xuanwu if "n" in e["event"]]) == 30
    assert "NO-SUCH-ARCHIVE" in {e["archive_id"] for e in entries("admin", 4)}  # the national scope: all
    assert client.get("/api/v1/audit/log", headers={"Authorization": f"Bearer {tokens['reader']}"}).status_code == 403


def test_below_the_national_scope_the_audit_page_counts_nothing_of_the_whole_repository(wh, home) -> None:  # noqa: ANN001
    root, _ids = home
    app = _app(root)
    with open_state(load_config(root).state_url) as state:
        tokens = {u: create_token(state, u, "t")[1] for u in ("xuanwu", "admin")}
    page = _client(wh, app, "xuanwu").get("/audit").get_data(as_text=True)
    log = page.split('id="audit-log"', 1)[1].split("</section>", 1)[0]
    assert "哈希链无误" in log and "条记录" not in log
    national = _client(wh, app, "admin").get("/audit").get_data(as_text=True)
    assert "条记录，哈希链无误" in national.split('id="audit-log"', 1)[1].split("</section>", 1)[0]
    client = app.test_client()
    mine = client.get("/api/v1/audits", headers={"Authorization": f"Bearer {tokens['xuanwu']}"}).get_json()
    assert mine["log"]["entries"] is None and mine["log"]["head"] is None and mine["log"]["ok"] is True
    assert all(r["copies"] is None for r in mine["replicas"])
    theirs = client.get("/api/v1/audits", headers={"Authorization": f"Bearer {tokens['admin']}"}).get_json()
    assert isinstance(theirs["log"]["entries"], int)


def test_a_linked_archive_disposed_of_keeps_its_division_on_the_page(home) -> None:  # noqa: ANN001
    from datetime import UTC, datetime

    from sqlalchemy import delete as sql_delete

    from repository.catalog.page import read_plain

    root, ids = home
    with Repository.open(root) as repo:
        with repo.catalog.transaction() as conn:
            plain = read_plain(conn, ids["jianye"][0])
        assert plain is not None and plain.divisions
        other, division = sorted(plain.divisions.items())[0]
        with repo.catalog.transaction(write=True) as conn:  # the linked household disposed of (销毁)
            conn.execute(sql_delete(ct.archives).where(ct.archives.c.id == other))
            conn.execute(insert(ct.disposals).values(
                archive_id=other, reference_code="X", division=division, type="household", retention="30",
                disposed_at=datetime(2026, 1, 1, tzinfo=UTC), proposed_by="a", approved_by="b", reason="r",
                tombstone={}))
        with repo.catalog.transaction() as conn:
            plain = read_plain(conn, ids["jianye"][0])
    assert plain is not None and plain.divisions[other] == division  # from its tombstone's row


def test_a_scoped_reader_searches_only_the_newest_part_of_the_log(home, monkeypatch) -> None:  # noqa: ANN001
    from repository.preservation.auditlog import AuditLog
    from repository.services import auditlog

    root, ids = home
    with Repository.open(root) as repo:
        log = AuditLog(repo.paths.audit_log.parent)
        log.append([{"kind": "premis-event", "archive_id": ids["xuanwu"][0], "object_id": "x", "copy": None,
                     "event": {"type": "fixity check", "n": "old"}}])
        log.append({"kind": "premis-event", "archive_id": ids["jianye"][0], "object_id": "x", "copy": None,
                    "event": {"type": "fixity check", "n": n}} for n in range(300))
        reader = Principal("x", Role.ARCHIVIST, "320102")
        found = [line.entry["event"].get("n") for line in auditlog.tail_in_scope(repo, reader, 5)]
        assert "old" in found  # the whole log is within the bytes searched
        monkeypatch.setattr(auditlog, "SCOPED_SCAN_BYTES", 20_000)  # about the newest 50 lines
        assert all(line.entry["event"].get("n") != "old" for line in auditlog.tail_in_scope(repo, reader, 5))
        newest = [line.entry["event"]["n"] for line in auditlog.tail(repo, 3)]
        assert newest == [297, 298, 299]  # oldest first
