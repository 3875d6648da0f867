"""Scan reviews in the state database (repository/accounts/scanreviews.py), on SQLite and on PostgreSQL: a
decision applies only while the review still holds the decision its page showed (``seen``), so two archivists
deciding at once never overwrite each other unseen; the timestamps it compares survive the round trip on both."""

from __future__ import annotations

from datetime import UTC, datetime

from repository.accounts import scanreviews
from repository.accounts.securitylog import Actor
from repository.state.db import State

PAGES = [{"page": 1, "size": [1000, 1400], "boxes": [[10, 20, 300, 60]], "read": True}]
KEY = "a" * 128 + "." + "0123456789abcdef"


def test_a_decision_applies_only_to_the_decision_its_page_showed(state: State) -> None:
    proposed = scanreviews.record_proposal(state, "hh-320102-2020-0001", "data/basic/0002.tif", "320102",
                                           "a" * 128, KEY, PAGES, now=datetime(2026, 12, 1, 9, tzinfo=UTC))
    first, second = Actor("lishui", "archivist"), Actor("xuanwu", "archivist")
    shown = scanreviews.seen(proposed)  # both archivists open the pending review
    moment = datetime(2026, 12, 7, 10, 11, 12, 345678, tzinfo=UTC)  # microseconds, as datetime.now gives them
    done = scanreviews.decide(state, proposed.id, True, {1: [(10, 20, 300, 60), (5, 900, 400, 1000)]}, first,
                              seen=shown, now=moment)
    assert done is not None and (done.state, done.decided_by) == ("approved", "lishui")
    assert scanreviews.decide(state, proposed.id, False, None, second, seen=shown) is None  # theirs stands
    kept = scanreviews.get(state, proposed.id)
    assert kept is not None and (kept.state, kept.decided_by, kept.decided_at) == ("approved", "lishui", moment)
    assert kept.approved_boxes == {1: [(10, 20, 300, 60), (5, 900, 400, 1000)]}
    again = scanreviews.decide(state, proposed.id, False, None, second, seen=scanreviews.seen(kept))
    assert again is not None and (again.state, again.decided_by) == ("rejected", "xuanwu")  # decided on what it saw
    assert scanreviews.decide(state, proposed.id, True, {}, first, seen="approved@not-a-time") is None
