"""bench/web.py's load generators: the wrk client's histogram arithmetic, its install check, and (when wrk is
installed) a real wrk run against a loopback server that answers some paths with 404."""

from __future__ import annotations

import http.server
import random
import shutil
import threading

import pytest


@pytest.fixture(scope="module")
def web(bench_web):  # noqa: ANN001, ANN201 - the module (tests/conftest.py)
    return bench_web


def stats_correct(hist: dict[int, int], duration_us: int, requests: int, connections: int) -> dict[int, int]:
    """wrk 4's stats_correct (src/stats.c) over a dict histogram, as its main() calls it."""
    step = duration_us // (requests // connections)
    data = dict(hist)
    for n in range(2 * step, max(hist) + 1):
        count = hist.get(n, 0)  # wrk reads data[n] after lower values were raised: only raw counts reach here
        m = n - step
        while count and m > step:
            data[m] = data.get(m, 0) + count
            m -= step
    return data


@pytest.mark.parametrize("seed", range(5))
def test_uncorrect_gives_back_the_measured_latencies(web, seed):
    rng = random.Random(seed)
    raw: dict[int, int] = {}
    for _ in range(300):  # mostly fast, a slow tail: the tail is what wrk's correction multiplies
        us = int(rng.expovariate(1 / 20_000)) + 500 if rng.random() < 0.9 else rng.randrange(100_000, 900_000)
        raw[us] = raw.get(us, 0) + 1
    duration = 900_000  # 300 answers on 4 connections in 0.9 s: step 12,000 us
    corrected = stats_correct(raw, duration, 300, web.WRK_CONNECTIONS)
    assert sum(corrected.values()) > 300  # the correction did add samples
    assert web.uncorrect(corrected, duration, 300) == raw


def test_wrk_missing_names_the_package(web, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SystemExit, match="apt-get install wrk"):
        web.wrk_check()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str]] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        Handler.seen.append((self.path, self.headers.get("Authorization", "")))
        status = 404 if self.path.startswith("/missing") else 200
        body = b"x" * 2000
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def servers():
    made = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
    for server in made:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    Handler.seen.clear()
    yield [server.server_address[1] for server in made]
    for server in made:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_line_is_bounded_and_sends_the_paths_and_header(web, servers):
    paths = [f"/a?q={i}" for i in range(10)]
    run = web.load_wrk(servers, paths, {"Authorization": "Bearer t0k"}, 40, 20)
    assert run.errors == 0
    assert 40 <= len(run.latencies) <= 40 + 2 * web.WRK_CONNECTIONS  # the stop lets in-flight answers in
    assert run.seconds < 15  # stopped by the bound, not by -d 20s
    assert run.client_cpu > 0
    assert {p for p, _ in Handler.seen} == set(paths)
    assert {a for _, a in Handler.seen} == {"Bearer t0k"}


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_line_with_a_404_fails(web, servers, capsys):
    run = web.load_wrk(servers, ["/ok", "/missing", "/ok2", "/missing2"], {}, 20, 20)
    assert run.errors > 0
    assert 404 in run.statuses
    web.CLIENT["kind"] = "wrk"
    try:
        web.report_line("probe", run, 50)
    finally:
        web.CLIENT["kind"] = "python"
    assert "FAILED" in capsys.readouterr().out
    assert web.FAILED == ["probe"]
