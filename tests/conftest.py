"""Suite-wide checks and settings.

Caches hsar writes (the prepared FIDO signature table under ``$XDG_CACHE_HOME/hsar``) go to a folder of
this test run, never to the user's own ``~/.cache``, so every run also builds the table once from the
shipped signature files. Every issue code in ``repository/data/codes.json`` must be raised by at least one test: when the whole
suite runs (no ``-k``, no file arguments), the session fails if a code was never built by
:func:`repository.codes.issue` in this process.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from repository.codes import RAISED, catalogue

TESTS = Path(__file__).parent
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def sign_in() -> Callable[[Any, str, str], Any]:
    """``sign_in(app, username, password)``: a test client of the Flask ``app`` signed in on the login page
    (its CSRF token sent, purpose of use: work)."""

    def signed(app: Any, username: str, password: str) -> Any:  # noqa: ANN401 - a Flask app, a FlaskClient
        client = app.test_client()
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        done = client.post("/login", data={"username": username, "password": password, "purpose_kind": "work",
                                           "csrf_token": token})
        assert done.status_code in (302, 303), done.get_data(as_text=True)
        return client

    return signed


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))  # inherited by child processes
    yield
    patch.undo()


def _whole_suite(config: pytest.Config) -> bool:
    args = [Path(a).resolve() for a in config.args]
    return not config.option.keyword and not config.option.markexpr and all(a == TESTS.resolve() or
                                                                              a == TESTS.parent.resolve()
                                                                              for a in args)


@pytest.fixture(scope="session", autouse=True)
def _test_client_closes_like_a_server():
    """Flask's test client leaves what a WSGI server closes open: the response (a file sent with send_file
    stays open until the response is closed; tests read ``.data`` and drop it) and the request body it encoded
    (a temporary file for an upload over 500 KB). Left to the garbage collector they were reported as
    ResourceWarnings in whichever later test the collector ran (an upload refused with 413 in one test, in
    another's name). Here the client closes both once the response is read, as waitress does once it is sent:
    a file still left open is one hsar opened, and fails the test (pyproject's filterwarnings make a
    ResourceWarning, and pytest's report of one found later by the garbage collector, errors suite-wide)."""
    from flask.testing import FlaskClient

    real = FlaskClient.open

    def open_and_close(self: FlaskClient, *args: object, buffered: bool = True, **kwargs: object):  # noqa: ANN202
        response = real(self, *args, buffered=buffered, **kwargs)  # buffered: the body read, the response closed
        for sent in (response, *response.history):
            body = sent.request.environ.get("wsgi.input")
            if body is not None:
                body.close()
        return response

    patch = pytest.MonkeyPatch()
    patch.setattr(FlaskClient, "open", open_and_close)
    yield
    patch.undo()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus != 0 or not _whole_suite(session.config) or session.config.option.collectonly:
        return
    missing = sorted(set(catalogue()) - RAISED)
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"issue codes never raised by any test: {', '.join(missing)}", red=True)
        session.exitstatus = 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A function giving a loopback port free now (call it once for each port a test needs)."""
    return _free_port


def _aged_file(path: Path, size: int, hours: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    moment = time.time() - hours * 3600
    os.utime(path, (moment, moment))
    return path


@pytest.fixture(scope="session")
def aged_file() -> Callable[[Path, int, float], Path]:
    """``aged_file(path, size, hours)``: ``size`` zero bytes written at ``path`` (its folders made), last read and
    written ``hours`` ago (the order a cache's least-recently-used bound goes by); the path."""
    return _aged_file


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis(port: int, folder: Path) -> subprocess.Popen:
    """A throwaway ``redis-server`` (from PATH, no persistence) on ``port``, answering PING; the test is
    skipped, with the reason, when it is missing (``make system-deps`` installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not found on PATH; install it with `make system-deps` "
                    "(apt-get install -y redis-server)")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _redis_ping(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait(timeout=10)
            pytest.fail(f"redis-server did not start on port {port}")
        time.sleep(0.05)
    return proc


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway ``redis-server`` for the session (on a free port), database 0 (:func:`_start_redis`)."""
    port = _free_port()
    proc = _start_redis(port, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[Callable[[int], subprocess.Popen]]:
    """``start_redis(port)``: a throwaway ``redis-server`` on that port, from now until the test ends."""
    started: list[subprocess.Popen] = []

    def start(port: int) -> subprocess.Popen:
        folder = tmp_path / f"redis-{port}"
        folder.mkdir(exist_ok=True)
        started.append(_start_redis(port, folder))
        return started[-1]

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


class FakeClock:
    """Stands in for the scheduler's SystemClock: starts at 01:00 UTC, sleeps instantly."""

    def __init__(self) -> None:
        self.moment = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def stop_the_scheduler(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``stop_the_scheduler(when_started=None)``: ``hsar scheduler`` on :class:`FakeClock`, its jobs the real
    ones (``standard_jobs``), with the scheduler stopped (as SIGTERM does) as soon as a job starts, or from
    another thread once ``when_started(stop)`` decides."""

    def stopping(when_started: Callable[[threading.Event], None] | None = None) -> None:
        from repository.audit import scheduler as scheduler_module

        real = scheduler_module.standard_jobs

        def jobs(home, more=()):  # noqa: ANN001, ANN202
            def stopped(job):  # noqa: ANN001, ANN202
                def run(scheduled, stop):  # noqa: ANN001, ANN202
                    if when_started is None:
                        stop.set()
                    else:
                        threading.Thread(target=when_started, args=(stop,), daemon=True).start()
                    return job.run(scheduled, stop)

                return scheduler_module.Job(job.name, job.schedule, run)

            return [stopped(job) for job in real(home, more)]

        monkeypatch.setattr(scheduler_module, "SystemClock", FakeClock)
        monkeypatch.setattr(scheduler_module, "standard_jobs", jobs)

    return stopping


@pytest.fixture(scope="session")
def bench_web() -> Iterator[Any]:
    """``bench/web.py`` as a module (bench/ on ``sys.path`` for its own imports, as when it is run)."""
    import importlib.util
    import sys

    bench = Path(__file__).resolve().parents[1] / "bench"
    sys.path.insert(0, str(bench))
    spec = importlib.util.spec_from_file_location("bench_web", bench / "web.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_web"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_web", None)
    sys.path.remove(str(bench))
