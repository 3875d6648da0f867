"""The disposal page and the tombstone page as archivists read them: what the review of the life-cycle pages
found (an unlabelled rejection note, an empty table saying nothing, page numbers inside the item column, no
shelf, a version's digest running off the page)."""

from __future__ import annotations

import re
from datetime import date

from repository.services import disposal as service

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')



def test_disposal_page_labels_the_rejection_note_and_says_when_nothing_is_decided(home, plan, login):
    with service.Repository.open(home) as repo:
        service.propose(repo, plan.unit, "期满鉴定", "alice", today=date(2060, 1, 1))
    html = login("bob").get("/disposal").get_data(as_text=True)
    note = re.search(r'<input name="note"[^>]*>', html)
    assert note is not None and 'placeholder="驳回意见（可不填）"' in note.group(0)
    assert "销毁理由" not in note.group(0)  # it was labelled as the proposal's reason
    decided = html.split('id="decided"', 1)[1]
    assert "没有已办结的申请。" in decided
    pending = html.split('id="pending"', 1)[1].split('id="decided"', 1)[0]
    assert f'href="/archives/{plan.unit}"' in pending


def test_tombstone_page_items_pages_shelf_and_wrapping(home, plan, login):
    today = date(2060, 1, 1)
    with service.Repository.open(home) as repo:
        proposal = service.propose(repo, plan.unit, "期满鉴定", "alice", today=today)
        service.approve(repo, proposal.id, "bob", today=today)
        tombstone = service.tombstone_of(repo, plan.unit).tombstone
    html = login("bob").get(f"/disposal/tombstones/{plan.unit}").get_data(as_text=True)
    table = html.split("<thead>", 1)[1].split("</table>", 1)[0]
    heads = re.findall(r"<th>(.*?)</th>", table)
    assert heads == ["#", "目录号", "案卷号", "件号", "页号", "盒号", "存放位置"]
    first = min(tombstone["paper"]["items"], key=lambda i: i["item_number"])
    cells = re.findall(r"<td>(.*?)</td>", table.split("<tbody>", 1)[1].split("</tr>", 1)[0])
    shelf = first["shelf"]
    assert cells == [str(first["item_number"]), first["catalogue"], first["volume"], str(first["item"]),
                     f"{first['page_start']}–{first['page_end']}", first["box"],
                     f"{shelf['store']}库{shelf['row']}排{shelf['cabinet']}柜{shelf['cell']}格"]
    assert f"全宗号 {tombstone['paper']['fonds']} · 目录号" in html
    assert '<ul class="versions">' in html  # a version's message holds a SIP's SHA-512: it must wrap
    css = login("bob").get("/static/app.css").get_data(as_text=True)
    assert re.search(r"\.tombstone \.versions li[^{]*\{[^}]*overflow-wrap: anywhere", css)


def test_each_decision_says_which_proposal_and_archive(home, plan, login):
    """After proposing, approving or rejecting, the page said only "done"."""
    alice, bob = login("alice"), login("bob")

    def post(client, path: str, **data: str) -> str:  # noqa: ANN001
        token = TOKEN.search(client.get("/disposal").get_data(as_text=True)).group(1)
        return client.post(path, data={"csrf_token": token, **data}, follow_redirects=True).get_data(as_text=True)

    proposed = post(alice, "/disposal/propose", archive=plan.unit, reason="期满鉴定")
    with service.Repository.open(home) as repo:
        (pending,) = service.proposals(repo, None, ["pending"])
    assert f"已提交销毁申请 {pending.id}（档案 {plan.unit}）" in proposed
    rejected = post(bob, f"/disposal/{pending.id}/reject", note="仍需保存")
    assert f"申请 {pending.id} 已驳回，档案 {plan.unit} 未作任何改动。" in rejected
    post(alice, "/disposal/propose", archive=plan.unit, reason="再次鉴定")
    with service.Repository.open(home) as repo:
        (again,) = service.proposals(repo, None, ["pending"])
    approved = post(bob, f"/disposal/{again.id}/approve", confirm=plan.unit)
    assert f"申请 {again.id} 已批准：档案 {plan.unit} 已销毁" in approved
