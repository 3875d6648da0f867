"""The statistics page (scope, numbers, CSV, vendored ECharts) and the audit page (roles, runs in scope,
reports, starting an audit job)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.home import Repository
from repository.jobs.queue import JobQueue
from repository.services import audit as audit_service
from repository.web import create_app

Login = Callable[[str], FlaskClient]
ROLES = ("admin", "xuanwu", "jianye", "reader", "auditor")
ECHARTS = "/static/vendor/echarts/echarts.min.js"


def _csv(client: FlaskClient, table: str) -> list[list[str]]:
    response = client.get(f"/stats/{table}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _in(archives: dict[str, Any], prefix: str) -> list[str]:
    return [i for i, v in archives.items() if v.archive.division.startswith(prefix)]


@pytest.mark.parametrize("user", ROLES)
def test_stats_page_for_every_role_loads_vendored_echarts_only(login: Login, user: str) -> None:
    client = login(user)
    page = client.get("/stats")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert ECHARTS in scripts and "/static/stats.js" in scripts
    assert not any("//" in s for s in scripts), scripts  # no CDN, no external URL
    assert re.search(r"<script(?![^>]*(src=|application/json))[^>]*>", html) is None  # no inline script
    assert 'id="stats-data"' in html
    assert ECHARTS not in client.get("/search").get_data(as_text=True)  # loaded on the statistics page only


def test_echarts_is_served_from_static(login: Login) -> None:
    response = login("reader").get(ECHARTS)
    assert response.status_code == 200
    assert b"echarts" in response.get_data()[:2000].lower()
    assert (Path(__file__).parents[2] / "repository/web/static/vendor/echarts/LICENSE").is_file()


def test_stats_need_signing_in(app: Flask) -> None:
    assert app.test_client().get("/stats").status_code == 302
    assert app.test_client().get("/stats/type.csv").status_code == 302


def test_district_statistics_exclude_other_districts(login: Login, archives: dict[str, Any]) -> None:
    xuanwu, jianye = _in(archives, "320102"), _in(archives, "320105")
    assert xuanwu and jianye
    rows = _csv(login("xuanwu"), "division")
    names = [r[0] for r in rows[1:]]
    assert "玄武区" in names and "建邺区" not in names and "南京市" not in names
    assert not any(r[1].startswith("320105") for r in rows[1:])
    top = rows[1]
    assert top[:3] == ["玄武区", "320102", str(len(xuanwu))]
    types = _csv(login("xuanwu"), "type")
    assert sum(int(r[1]) for r in types[1:]) == len(xuanwu)
    other = _csv(login("jianye"), "division")
    assert other[1][:3] == ["建邺区", "320105", str(len(jianye))]
    assert "玄武区" not in [r[0] for r in other[1:]]
    # items add up: the city's items are at least both districts' items, each district's its own only
    city = {r[1]: int(r[3]) for r in _csv(login("reader"), "division")[1:]}
    assert city["320102"] == int(top[3]) and city["320105"] == int(other[1][3])
    assert city["320100"] >= int(top[3]) + int(other[1][3])


def test_csv_contents_match_the_catalogue(login: Login, web_home: Path, archives: dict[str, Any]) -> None:
    client = login("reader")
    with Repository.open(web_home) as repo:
        expected = repo.catalog.stats(["3201"])
    formats = _csv(client, "formats")
    assert formats[0] == ["格式", "代码", "文件数", "字节"]
    assert sum(int(r[3]) for r in formats[1:]) == expected.bytes
    assert sum(int(r[2]) for r in formats[1:]) == expected.files
    assert all(re.fullmatch(r"(x-)?fmt/\d+", r[1]) for r in formats[1:])
    paper = _csv(client, "paper")
    assert [r[0] for r in paper[1:]] == ["有", "无"]
    items = sum(int(r[1]) for r in paper[1:])
    assert items == sum(int(r[1]) for r in _csv(client, "class")[1:])
    assert sum(int(r[1]) for r in _csv(client, "year")[1:]) == len(_in(archives, "3201"))
    assert client.get("/stats/nothing.csv").status_code == 404


def test_stats_page_tables_carry_the_numbers(login: Login, archives: dict[str, Any]) -> None:
    html = login("jianye").get("/stats").get_data(as_text=True)
    assert "建邺区" in html and "玄武区" not in html
    assert html.count('class="chart"') == 9 and html.count("/stats/") >= 9


@pytest.mark.parametrize(("user", "status"), [("admin", 200), ("xuanwu", 200), ("auditor", 200), ("reader", 403)])
def test_audit_page_by_role(login: Login, user: str, status: int) -> None:
    client = login(user)
    response = client.get("/audit")
    assert response.status_code == status
    nav = client.get("/stats").get_data(as_text=True)
    assert ('href="/audit"' in nav) == (status == 200)
    if status == 200:
        html = response.get_data(as_text=True)
        assert "哈希链" in html and "Traceback" not in html
        assert ('action="/audit/start"' in html) == (user != "auditor")  # auditors look, they do not start


# --- on a copy of the home (audits and jobs change it) ------------------------------------------------


@pytest.fixture
def own_app(web_home: Path, tmp_path: Path) -> Flask:
    home = tmp_path / "home"
    shutil.copytree(web_home, home)  # the accounts come along in the copy's state database
    return create_app(home, {"TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def own_login(own_app: Flask, wh: Any) -> Login:  # noqa: ANN401
    def sign_in(username: str) -> FlaskClient:
        client = own_app.test_client()
        response = client.post("/login", data={"username": username, "password": wh.PASSWORD, "purpose_kind": "work",
                                               "csrf_token": wh.csrf_token(client)})
        assert response.status_code == 302
        return client

    return sign_in


def _home(app: Flask) -> Path:
    return Path(app.config["HSAR_HOME"])


def test_audit_runs_and_due_are_scoped(own_app: Flask, own_login: Login, archives: dict[str, Any]) -> None:
    target = _in(archives, "320105")[0]
    with Repository.open(_home(own_app)) as repo:
        run = audit_service.audit(repo, audit_service.selection([], [target]))
    html = own_login("jianye").get("/audit").get_data(as_text=True)
    runs = html.split('id="audit-runs"')[1].split("</section>")[0]
    due = html.split('id="audit-due"')[1].split("</section>")[0]
    assert target in runs and target not in due
    mine = own_login("xuanwu").get("/audit").get_data(as_text=True)
    assert target not in mine  # another district's run is not shown
    assert _in(archives, "320102")[0] in mine.split('id="audit-due"')[1]
    names = [Path(p).name for p in run.reports]
    assert names and all(n in html for n in names)
    auditor = own_login("auditor")
    for name in names:
        response = auditor.get(f"/audit/reports/{name}")
        assert response.status_code == 200 and response.get_data()
    assert own_login("reader").get(f"/audit/reports/{names[0]}").status_code == 403
    xuanwu = own_login("xuanwu")  # a report of a run over another district's archive is not theirs
    assert not any(n in mine for n in names)
    assert xuanwu.get(f"/audit/reports/{names[0]}").status_code == 404
    assert auditor.get("/audit/reports/..%2Fconfig.toml").status_code == 404
    assert auditor.get("/audit/reports/nothing.json").status_code == 404


def _start(client: FlaskClient, wh: Any, archive: str, token: bool = True) -> Any:  # noqa: ANN401
    data = {"archive": archive} | ({"csrf_token": wh.csrf_token(client, "/audit")} if token else {})
    return client.post("/audit/start", data=data)


def test_start_an_audit_job_in_scope_only(own_app: Flask, own_login: Login, archives: dict[str, Any],
                                          wh: Any) -> None:  # noqa: ANN401
    mine, other = _in(archives, "320102")[0], _in(archives, "320105")[0]
    client = own_login("xuanwu")
    with JobQueue.open(_home(own_app)) as queue:  # the session's home may hold other tests' jobs
        before = {j.id for j in queue.list(kind="audit")}
    assert _start(client, wh, other).status_code == 404
    assert _start(client, wh, "no-such-archive").status_code == 404
    assert _start(client, wh, mine, token=False).status_code == 400
    with JobQueue.open(_home(own_app)) as queue:
        assert {j.id for j in queue.list(kind="audit")} == before
    response = _start(client, wh, mine)
    assert response.status_code == 302 and response.headers["Location"].endswith("/audit")
    assert mine in client.get("/audit").get_data(as_text=True)
    with JobQueue.open(_home(own_app)) as queue:
        jobs = [j for j in queue.list(kind="audit") if j.id not in before]
    assert [(j.params["archives"], j.params["mode"], j.username) for j in jobs] == [([mine], "archive", "xuanwu")]
    auditor = own_login("auditor")
    assert auditor.post("/audit/start", data={"archive": mine}).status_code in (400, 403)


def _reports_seen(client: FlaskClient, names: list[str]) -> tuple[list[str], list[str], list[int]]:
    """Of the report ``names``: those the audit page lists, those the API lists, the download statuses."""
    page = client.get("/audit").get_data(as_text=True)
    api = client.get("/api/v1/audits").get_json()["reports"]  # (a signed-in session works for GETs)
    return ([n for n in names if n in page], [n for n in names if n in api],
            [client.get(f"/audit/reports/{n}").status_code for n in names])


def _report(home: Path, names: list[str]) -> dict[str, Any]:
    return json.loads((home / "reports" / next(n for n in names if n.endswith(".json"))).read_text("utf-8"))


def test_a_national_run_s_report_is_for_the_national_scope_only(own_app: Flask, own_login: Login,
                                                               archives: dict[str, Any]) -> None:
    """A scheduled (--due) run over the whole store, on a budget of one archive: whatever archive it checked, its
    report counts the other divisions' archives left for later (AUD027), so below the national scope it is
    neither listed (page, API) nor downloaded (404); a report that records no scope (older) neither."""
    home = _home(own_app)
    toml = home / "hsar.toml"
    toml.write_text(re.sub(r"(?m)^budget_bytes = \d+$", "budget_bytes = 1", toml.read_text("utf-8")), "utf-8")
    with Repository.open(home) as repo:
        run = audit_service.audit(repo, audit_service.selection(["due"]))
    assert len(run.archives) == 1 and "AUD027" in {i.code for i in run.issues}
    names = sorted(Path(p).name for p in run.reports)
    assert _report(home, names)["scope"] == "000000"
    assert _reports_seen(own_login("admin"), names) == (names, names, [200, 200])
    for user in ("xuanwu", "jianye", "auditor"):  # district archivists, the city's auditor
        assert _reports_seen(own_login(user), names) == ([], [], [404, 404]), user
    with Repository.open(home) as repo:  # one archive of 玄武区: for 玄武区, until its report says no scope
        mine = audit_service.audit(repo, audit_service.selection([], [_in(archives, "320102")[0]]))
    own = sorted(Path(p).name for p in mine.reports)
    assert _reports_seen(own_login("xuanwu"), own) == (own, own, [200, 200])
    older = home / "reports" / next(n for n in own if n.endswith(".json"))
    data = json.loads(older.read_text("utf-8"))
    del data["scope"]
    older.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    assert _reports_seen(own_login("xuanwu"), own) == ([], [], [404, 404])
    assert _reports_seen(own_login("admin"), own) == (own, own, [200, 200])


def test_an_audit_of_one_archive_started_from_the_page_is_for_its_division(
        own_app: Flask, own_login: Login, archives: dict[str, Any], wh: Any) -> None:  # noqa: ANN401
    """The audit page's job of one archive (run as ``hsar worker`` runs it): its report records the archive's
    division and is listed and downloaded by the archivist who started it and by the city above; not by another
    district. A run naming archives of two districts is the city's."""
    import threading

    from repository.jobs.tasks import execute

    mine, other = _in(archives, "320102")[0], _in(archives, "320105")[0]
    client = own_login("xuanwu")
    with JobQueue.open(_home(own_app)) as queue:  # the session's home may hold other tests' jobs
        before = {j.id for j in queue.list(kind="audit")}
    assert _start(client, wh, mine).status_code == 302
    with JobQueue.open(_home(own_app)) as queue:
        [job] = [j for j in queue.list(kind="audit") if j.id not in before]
        execute(queue, job.id, threading.Event())
        done = queue.get(job.id)
    assert done is not None and done.result is not None, done
    names = sorted(Path(p).name for p in done.result["reports"])
    assert _report(_home(own_app), names)["scope"] == archives[mine].archive.division
    for user in ("xuanwu", "auditor", "admin"):
        assert _reports_seen(own_login(user), names) == (names, names, [200, 200]), user
    assert _reports_seen(own_login("jianye"), names) == ([], [], [404, 404])
    with Repository.open(_home(own_app)) as repo:
        both = audit_service.audit(repo, audit_service.selection([], [mine, other]))
    two = sorted(Path(p).name for p in both.reports)
    assert _report(_home(own_app), two)["scope"] == "320100"
    assert _reports_seen(own_login("auditor"), two) == (two, two, [200, 200])
    for user in ("xuanwu", "jianye"):
        assert _reports_seen(own_login(user), two) == ([], [], [404, 404]), user


def _payload(object_root: Path) -> Path:
    return next(p for p in sorted((object_root / "v1" / "content").rglob("*")) if p.is_file() and "/data/" in p.as_posix())


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))


def test_failures_repairs_and_replicas(web_home: Path, tmp_path: Path, wh: Any,  # noqa: ANN401
                                       archives: dict[str, Any]) -> None:
    """Failures list failed runs only (an intact run is no failure), each code explained; repairs name the
    replica they came from; replicas show each configured root, usable or not, and its newest copy."""
    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    good, gone = tmp_path / "replica", tmp_path / "unmounted" / "replica"
    toml = home / "hsar.toml"
    toml.write_text(re.sub(r"(?m)^replicas = \[.*\]$", f'replicas = ["{good}", "{gone}"]', toml.read_text("utf-8")),
                    "utf-8")
    repaired, failed = sorted(_in(archives, "320105"))[:2]
    from repository.preservation.ids import object_id

    with Repository.open(home) as repo:
        copied = audit_service.replicate(repo)
        assert copied.copied and [c.label for c in copied.replicas if c.error] == ["replica2"]
        roots = {a: repo.store.object_root(object_id(a)) for a in (repaired, failed)}
        _flip(_payload(roots[repaired]))  # damaged in the primary only: repaired from replica1
        _flip(_payload(roots[failed]))  # and in both copies: failed
        _flip(_payload(good / roots[failed].relative_to(repo.store.root)))
        intact = sorted(_in(archives, "320102"))[0]
        run = audit_service.audit(repo, audit_service.selection([], [repaired, failed, intact]))
    assert {a.archive_id: a.result for a in run.archives} == {repaired: "repaired", failed: "failed", intact: "intact"}

    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})

    def page(username: str) -> str:
        client = app.test_client()
        client.post("/login", data={"username": username, "password": wh.PASSWORD, "purpose_kind": "work",
                                    "csrf_token": wh.csrf_token(client)})
        return client.get("/audit").get_data(as_text=True)

    def section(html: str, name: str) -> str:
        return html.split(f'id="audit-{name}"')[1].split("</section>")[0]

    html = page("admin")
    failures, repairs, replicas = (section(html, n) for n in ("failures", "repairs", "replicas"))
    assert failed in failures and repaired not in failures and intact not in failures
    assert repaired in repairs and "replica1" in repairs and failed not in repairs
    from repository.codes import explanation

    found = {f.code for a in run.archives if a.archive_id == failed for f in a.findings}
    assert found and "未通过" in failures and "已修复" in repairs
    for code in found:  # every code the run found, explained in Chinese
        assert f">{code}</code> {explanation(code, 'zh')}" in failures and explanation(code, "zh") != code
    assert "完好" in section(html, "runs")  # an intact run, labelled in Chinese
    assert "replica1" in replicas and str(good) in replicas and "可用" in replicas
    assert "replica2" in replicas and "不可用" in replicas and str(gone) in replicas and "从未" in replicas
    assert re.search(r"replica1</td>.*?<td>\d{4}-\d\d-\d\d \d\d:\d\d</td><td class=\"num\">[1-9]", replicas, re.S)
    other = page("xuanwu")  # another district: neither run is theirs
    assert failed not in section(other, "failures") and repaired not in section(other, "repairs")


def test_the_due_list_is_counted_and_bounded(login: Login, archives: dict[str, Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from repository.web import shown

    monkeypatch.setattr(shown, "AUDIT_DUE", 1)  # at 200,000 archives the page once listed every one (24 MB)
    due = login("admin").get("/audit").get_data(as_text=True).split('id="audit-due"')[1].split("</section>")[0]
    assert f"共 {len(archives)} 件待审计" in due and "以下列出最先到期的 1 件" in due
    assert due.count("<tr><td><a href=") == 1
