"""The sign-in lockout's records (``login_failures``) on SQLite and PostgreSQL: failures counted within the
window, the lock at the limit, concurrent failures of one name all counted, unlock and the list of locks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from repository.accounts import lockout
from repository.state.db import State


def test_failures_lock_at_the_limit_and_unlock(state: State) -> None:
    now = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    assert [lockout.failed(state, "wang", failures=3, minutes=30, now=now + timedelta(minutes=m))
            for m in (0, 1)] == [None, None]
    until = lockout.failed(state, "wang", failures=3, minutes=30, now=now + timedelta(minutes=2))
    assert until == now + timedelta(minutes=32)
    assert lockout.locked_until(state, "wang", now + timedelta(minutes=3)) == until
    assert lockout.locked_until(state, "wang", until) is None  # over when it ends
    assert lockout.locks(state, until) == {}
    assert lockout.locks(state, now + timedelta(minutes=3)) == {"wang": until}
    assert lockout.unlock(state, "wang") and not lockout.unlock(state, "wang")
    assert lockout.locks(state, now + timedelta(minutes=3)) == {}
    # failures further apart than the window never add up
    assert [lockout.failed(state, "li", failures=2, minutes=30, now=now + timedelta(minutes=40 * k))
            for k in range(3)] == [None, None, None]


def test_failures_of_one_name_at_the_same_time_all_count(state: State) -> None:
    now = datetime.now(UTC)
    with ThreadPoolExecutor(8) as pool:
        ends = list(pool.map(lambda _: lockout.failed(state, "zhao", failures=8, minutes=30, now=now), range(8)))
    assert sum(until is not None for until in ends) == 1  # the eighth, whichever thread made it
    assert lockout.locked_until(state, "zhao", now) is not None


def test_a_failure_counted_while_locked_neither_locks_again_nor_moves_the_end(state: State) -> None:
    """A failure that raced the locking one past the sign-in's check is counted, but the lock is made once:
    its end stays, and only the locking failure returns it (its security-log line and its alert, once)."""
    now = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    assert [lockout.failed(state, "sun", failures=2, minutes=30, now=now) for _ in range(2)] == [
        None, now + timedelta(minutes=30)]
    locked: list[datetime | None] = []
    later = lockout.failed(state, "sun", failures=2, minutes=30, now=now + timedelta(minutes=5),
                           also=lambda _conn, until: locked.append(until))
    assert later is None and locked == [None]
    assert lockout.locked_until(state, "sun", now + timedelta(minutes=6)) == now + timedelta(minutes=30)
