"""Approving a disposal (批准并销毁) destroys an archive: the page asks first. The approve button opens a
confirmation naming the archive, its 档号, the proposer, the reason, what will be removed and what is kept; the
approval is only carried out with the archive's identifier typed there (DSP-CONFIRM otherwise, nothing changed).
The four-eyes rule stays: the proposer gets no confirmation page (DSP-SELF)."""

from __future__ import annotations

import re
from datetime import date

from repository.preservation.ids import object_id
from repository.services import disposal as service

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')



def _stored(home, archive_id: str) -> bool:
    with service.Repository.open(home) as repo:
        return repo.store.exists(object_id(archive_id))


def test_approving_asks_for_the_archives_identifier_first(login, home, plan):
    alice, bob = login("alice"), login("bob")
    with service.Repository.open(home) as repo:
        made = service.propose(repo, plan.unit, "期满鉴定，无保存价值", "alice", today=date(2060, 1, 1))
    page = bob.get("/disposal").get_data(as_text=True)
    pending = page.split('id="pending"')[1].split("</section>")[0]
    assert f'href="/disposal/{made.id}/approve"' in pending and 'action="/disposal/' not in pending.split(
        "/reject")[0].split(f"/disposal/{made.id}/approve")[0]  # a link to the confirmation, not a one-click form

    shown = bob.get(f"/disposal/{made.id}/approve")
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    for needle in (plan.unit, made.reference_code, "alice", "期满鉴定，无保存价值", "不可撤销", "将被删除", "将被保留",
                   "销毁记录", 'name="confirm"', 'name="csrf_token"', "primary"):
        assert needle in text, needle
    token = TOKEN.search(text).group(1)

    for typed in (None, "", "un-wrong", made.reference_code):  # no confirmation, or the wrong one: refused
        data = {"csrf_token": token} | ({} if typed is None else {"confirm": typed})
        refused = bob.post(f"/disposal/{made.id}/approve", data=data)
        assert refused.status_code == 303 and refused.location.endswith(f"/disposal/{made.id}/approve")
        notice = bob.get(refused.location).get_data(as_text=True)
        assert "[DSP-CONFIRM]" in notice and plan.unit in notice and "未作任何改动" in notice
        assert _stored(home, plan.unit)
    with service.Repository.open(home) as repo:
        assert [p.id for p in service.proposals(repo, None, ["pending"])] == [made.id]  # still pending
    assert bob.post(f"/disposal/{made.id}/approve", data={"confirm": plan.unit}).status_code == 400  # CSRF

    own = alice.get(f"/disposal/{made.id}/approve")  # the proposer: no confirmation page, the rule says why
    assert own.status_code == 303 and "[DSP-SELF]" in alice.get(own.location).get_data(as_text=True)
    hers = TOKEN.search(alice.get("/disposal").get_data(as_text=True)).group(1)
    assert "[DSP-SELF]" in alice.post(f"/disposal/{made.id}/approve", data={"csrf_token": hers, "confirm": plan.unit},
                                      follow_redirects=True).get_data(as_text=True)
    assert _stored(home, plan.unit)

    done = bob.post(f"/disposal/{made.id}/approve", data={"csrf_token": token, "confirm": f" {plan.unit} "},
                    follow_redirects=True)
    assert f"申请 {made.id} 已批准：档案 {plan.unit} 已销毁" in done.get_data(as_text=True)
    assert not _stored(home, plan.unit)
    again = bob.get(f"/disposal/{made.id}/approve")  # decided: nothing to confirm
    assert again.status_code == 303 and "[DSP-DECIDED]" in bob.get(again.location).get_data(as_text=True)


def test_the_confirmation_speaks_english_too(login, home, plan):
    with service.Repository.open(home) as repo:
        made = service.propose(repo, plan.unit, "retention ended", "alice", today=date(2060, 1, 1))
    bob = login("bob")
    token = TOKEN.search(bob.get("/disposal").get_data(as_text=True)).group(1)
    assert bob.post("/lang", data={"lang": "en", "csrf_token": token}).status_code in (302, 303)
    text = bob.get(f"/disposal/{made.id}/approve").get_data(as_text=True)
    assert "cannot be undone" in text and "What is kept" in text and "不可撤销" not in text
