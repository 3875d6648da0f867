"""The disposal page: propose, self-approval refused, another archivist approves; a disposed archive's page
shows its tombstone (410 Gone) to users of its division and stays a 404 for others."""

from __future__ import annotations

import re
from datetime import date

from repository.preservation.ids import object_id
from repository.services import disposal as service

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')



def _post(client, path: str, **data: str):  # noqa: ANN202 - a test response
    token = TOKEN.search(client.get("/disposal").get_data(as_text=True)).group(1)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)


def test_propose_refuse_self_approval_approve_and_show_the_tombstone(login, home, plan):
    alice, bob, carol, dave = (login(u) for u in ("alice", "bob", "carol", "dave"))
    page = alice.get("/disposal").get_data(as_text=True)
    assert plan.unit in page and plan.leaving in page and plan.staying not in page
    assert 'href="/disposal"' in alice.get("/search").get_data(as_text=True)
    assert dave.get("/disposal").status_code == 403  # auditors do not decide disposals
    assert plan.unit not in carol.get("/disposal").get_data(as_text=True)  # outside her division

    proposed = _post(alice, "/disposal/propose", archive=plan.unit, reason="期满鉴定，无保存价值")
    assert proposed.status_code == 200 and "期满鉴定，无保存价值" in proposed.get_data(as_text=True)
    with service.Repository.open(home) as repo:
        (pending,) = service.proposals(repo, None, ["pending"])
    refused = _post(alice, f"/disposal/{pending.id}/approve").get_data(as_text=True)
    assert "DSP-SELF" in refused
    with service.Repository.open(home) as repo:
        assert repo.store.exists(object_id(plan.unit))

    done = _post(bob, f"/disposal/{pending.id}/approve", confirm=plan.unit)  # typed on the confirmation page
    assert done.status_code == 200 and "DSP-" not in done.get_data(as_text=True)
    with service.Repository.open(home) as repo:
        assert not repo.store.exists(object_id(plan.unit))
        reference = service.tombstone_of(repo, plan.unit).reference_code
    gone = bob.get(f"/archives/{plan.unit}")
    text = gone.get_data(as_text=True)
    assert gone.status_code == 410 and reference in text and "alice" in text and "期满鉴定" in text
    assert carol.get(f"/archives/{plan.unit}").status_code == 404
    assert carol.get(f"/disposal/tombstones/{plan.unit}").status_code == 404
    assert alice.get(f"/disposal/tombstones/{plan.unit}").status_code == 410
    rejected = _post(bob, f"/disposal/{pending.id}/reject")
    assert "DSP-DECIDED" in rejected.get_data(as_text=True)


def test_the_due_list_is_counted_and_bounded_longest_due_first(login, home, plan, monkeypatch):
    from repository.web import shown

    monkeypatch.setattr(shown, "DISPOSAL_DUE", 1)  # 13,420 due archives at 200,000 once made a 9.6 MB page
    page = login("alice").get("/disposal").get_data(as_text=True)
    due = page.split('id="due"')[1].split("</section>")[0]
    assert "共 2 件档案保管期限已满；以下列出到期最早的 1 件" in due
    with service.Repository.open(home) as repo:
        first = min(service.due(repo, today=date(2060, 1, 1)), key=lambda d: (d.term.ends, d.archive_id))
    assert [a for a in (plan.unit, plan.leaving) if a in due] == [first.archive_id]  # the longest due


def test_the_service_lists_the_longest_due_first_for_the_page_and_the_shell(home, plan, monkeypatch):
    """The order was the page's own (the service and ``hsar disposal due`` listed the catalogue's order)."""
    import json

    from click.testing import CliRunner

    from repository.cli import cli

    real = service.retention_rows
    monkeypatch.setattr(service, "retention_rows", lambda *a, **k: list(reversed(list(real(*a, **k)))))
    with service.Repository.open(home) as repo:
        found = service.due(repo, today=date(2060, 1, 1))
    assert len(found) == 2
    assert found == sorted(found, key=lambda d: (d.term.ends, d.archive_id))
    monkeypatch.setattr(service, "retention_rows", lambda *a, **k: real(*a, **k))  # the catalogue's order
    with service.Repository.open(home) as repo:
        assert service.due(repo, today=date(2060, 1, 1)) == found
    listed = CliRunner().invoke(cli, ["--home", str(home), "disposal", "due", "--json", "--today", "2060-01-01"])
    assert [d["archive_id"] for d in json.loads(listed.output)] == [d.archive_id for d in found]


def test_the_due_list_is_worked_out_again_only_when_the_catalogue_or_the_day_moves(home, plan, monkeypatch):
    """At 200,000 archives judging every term cost the disposal page ~2 s at each load; the list is kept while
    the catalogue's change mark and the day stay the same, and each user's scope and the pending proposals are
    applied to it at every call."""
    real, reads = service.retention_rows, []
    monkeypatch.setattr(service, "retention_rows", lambda *a, **k: reads.append(1) or real(*a, **k))
    day = date(2060, 1, 1)
    with service.Repository.open(home) as repo:
        first = service.due(repo, today=day)
        assert service.due(repo, today=day) == first and len(reads) == 1
        proposal = service.propose(repo, first[0].archive_id, "期满鉴定", "alice", today=day)
        again = service.due(repo, today=day)
        assert len(reads) == 1 and again[0].proposal == proposal.id and first[0].proposal is None  # not shared
        assert service.due(repo, today=date(2060, 1, 2)) and len(reads) == 2  # another day
        assert repo.catalog.delete_archive(first[-1].archive_id)
        assert [d.archive_id for d in service.due(repo, today=date(2060, 1, 2))] == [
            d.archive_id for d in first[:-1]] and len(reads) == 3  # the catalogue moved
