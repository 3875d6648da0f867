"""bench/web.py's two peers of the API over HTTP, on a real home: the search service called directly and the
web application called as a WSGI application (no server), each in two forked processes. A peer that answers
nothing, or counts refused answers as answered, would make the benchmark's ratios meaningless."""

from __future__ import annotations

from pathlib import Path

from .test_api import tokens  # noqa: F401 - the token users


def test_the_peers_answer_the_mix_and_refusals_do_not_count(bench_web, web_home: Path, tokens: dict[str, str]) -> None:  # noqa: ANN001, F811
    paths = ["/api/v1/search?q=%E4%BD%8F%E6%88%BF", "/api/v1/search?division=320105", "/api/v1/search?q=x&year=2019"]
    answered, memory = bench_web.in_process(web_home, paths * 10, tokens["admin"], 60)
    assert answered > 0 and memory > 0
    refused, _ = bench_web.in_process(web_home, paths * 3, "not-a-token", 60)
    assert refused == 0  # 401s are not answers
    searched, memory = bench_web.direct(web_home, [{"query": "住房", "facets": bench_web.FACETS}] * 20, 60)
    assert searched > 0 and memory > 0
