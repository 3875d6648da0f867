"""The login throttle's count: each process's memory by default; one Redis for every process with
``web.throttle_url`` (a real, throwaway ``redis-server``); each process's memory again while that Redis cannot
be reached (never a 500, never unthrottled). Two applications stand for two ``hsar serve`` processes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from flask import Flask

from repository.config import load as load_config
from repository.errors import ConfigError
from repository.web import create_app

LIMIT = {"HSAR_LOGIN_LIMIT": "3 per minute", "SECRET_KEY": "x", "HSAR_WARM": False}


def _attempts(wh, app: Flask, n: int) -> list[int]:
    """``n`` wrong-password sign-ins from one browser (the test client: address 127.0.0.1)."""
    client = app.test_client()
    token = wh.csrf_token(client)
    probe = f"probe-{uuid.uuid4().hex[:8]}"  # a name of its own: its failures are the lockout's business, not these
    return [client.post("/login", data={"username": probe, "password": "bad", "csrf_token": token}).status_code
            for _ in range(n)]


def test_each_process_counts_alone_by_default(wh, web_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HSAR_WEB_THROTTLE_URL", raising=False)
    first, second = create_app(web_home, LIMIT), create_app(web_home, LIMIT)
    assert _attempts(wh, first, 4) == [401, 401, 401, 429]
    assert _attempts(wh, second, 1) == [401]  # the other process never saw them


def test_web_throttle_url_shares_one_count_between_processes(wh, web_home: Path, redis_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/3"  # a database of its own
    redis.Redis.from_url(url).flushdb()
    monkeypatch.setenv("HSAR_WEB_THROTTLE_URL", url)
    first, second = create_app(web_home, LIMIT), create_app(web_home, LIMIT)
    assert _attempts(wh, first, 3) == [401, 401, 401]
    assert _attempts(wh, second, 1) == [429]  # the three attempts were counted in Redis
    assert redis.Redis.from_url(url).dbsize() > 0


def test_an_unreachable_throttle_store_falls_back_to_memory(wh, web_home: Path, free_port: Callable[[], int],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSAR_WEB_THROTTLE_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert _attempts(wh, create_app(web_home, LIMIT), 4) == [401, 401, 401, 429]


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/0", "127.0.0.1:6379", "memcached://127.0.0.1:11211"])
def test_a_throttle_url_it_cannot_count_in_is_refused_at_start(web_home: Path, url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSAR_WEB_THROTTLE_URL", url)
    with pytest.raises(ConfigError) as refused:
        load_config(web_home)
    assert refused.value.code == "CONFIG" and "HSAR_WEB_THROTTLE_URL" in str(refused.value) and "redis://" in str(
        refused.value)
