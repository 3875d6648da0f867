"""End-to-end fixtures: a real repository home built with the ``hsar`` command, ``hsar serve`` running it on a
free loopback port in a subprocess, and headless Chromium (Debian's ``/usr/bin/chromium``, driven by
Playwright's sync API) signed in as one demo account per role.

Everything skips, with its reason, where ``/usr/bin/chromium`` or the ``playwright`` package is missing.

Adding a page's test: take ``signed_in("archivist")`` (any role of :data:`ACCOUNTS`), ``page.goto(server + PATH)``,
assert on what a user sees, and ``shoot(page, "name")`` for ``name.png`` when the page belongs in the README. A new
role or division scope is one line of :data:`ACCOUNTS`.

Screenshots go to ``$HSAR_SCREENSHOTS`` (relative to the clone, or absolute): ``make test`` sets it to
``docs/screenshots`` unless given, so the run (CI's ``.ci/run`` too) refreshes the README's pictures for the
maintainers to commit; a bare ``pytest`` run, without it, writes them into a pytest temporary folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from xml.etree import ElementTree

import pytest

CHROMIUM = Path(os.environ.get("HSAR_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS_ENV = "HSAR_SCREENSHOTS"  # where shoot() writes (relative to ROOT), else a pytest temporary folder
_SHOTS: list[Path] = []  # the folder of this session (the fixture ``screenshots``)
CITY = "320100"  # 南京市: every archive of `hsar demo-data`
DISTRICT = "320102"  # 玄武区: one household archive of the seed-7 demo data, nothing else


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    division: str
    password: str


#: role -> the account signed in for it (the demo data's archives all lie in CITY)
ACCOUNTS = {
    "archivist": Account("e2e-archivist", "archivist", CITY, "e2e archivist password"),
    "researcher": Account("e2e-researcher", "researcher", CITY, "e2e researcher password"),
    # a researcher of one district (玄武区): one household archive of the demo data lies in it
    "district-researcher": Account("e2e-researcher-xuanwu", "researcher", DISTRICT, "e2e district password"),
    "auditor": Account("e2e-auditor", "auditor", CITY, "e2e auditor password"),
}


@dataclass(frozen=True)
class Household:
    """A household archive of the demo data, with the facts a user would search and see."""

    archive_id: str
    head: str  # 户主姓名
    resident_id: str  # 户主居民身份证号码 (18 digits)


@pytest.fixture(scope="session", autouse=True)
def _needs_chromium() -> None:
    """Every end-to-end test skips, with the reason, before anything is built where the browser is missing."""
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium, or `make system-deps`)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture(scope="session")
def e2e() -> ModuleType:
    """This module's helpers (ACCOUNTS, log_in, console_errors, shoot) for test modules (conftest is not importable by name)."""
    return sys.modules[__name__]


def hsar(*args: str, home: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``hsar ARGS`` from this source tree (PYTHONPATH inherited, this tree first), output captured."""
    command = [sys.executable, "-c", "import sys; from repository.cli import main; sys.exit(main())"]
    if home is not None:
        command += ["--home", str(home)]
    done = subprocess.run(command + list(args), input=stdin, capture_output=True, text=True, env=_env(),
                          timeout=600)
    assert done.returncode == 0, f"hsar {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    # every browser of the session signs in from 127.0.0.1: the per-address throttle (10 a minute) would
    # count the whole suite as one client
    env["HSAR_WEB_LOGIN_ATTEMPTS"] = "600"
    return env


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(home, SIP folder): ``hsar init``, ``hsar demo-data`` (small), ``hsar ingest``, ``hsar user add``."""
    base = tmp_path_factory.mktemp("e2e")
    home, sips = base / "home", base / "sips"
    hsar("init", home=home)
    hsar("demo-data", str(sips), "--households", "3", "--units", "2", "--seed", "7")
    hsar("ingest", str(sips), home=home)
    for a in ACCOUNTS.values():
        hsar("user", "add", a.username, "--role", a.role, "--division", a.division, "--password-stdin",
             home=home, stdin=a.password + "\n")
    return home, sips


@pytest.fixture(scope="session")
def household(demo: tuple[Path, Path]) -> Household:
    """The first household archive of the demo data, its head's name and resident ID from its SIP."""
    _, sips = demo
    manifest = json.loads((sips / "demo_manifest.json").read_text("utf-8"))
    entry = next(e for e in manifest["sips"] if e["kind"] == "household")
    xml = ElementTree.parse(sips / entry["path"] / "metadata" / "descriptive.xml")
    resident = next(e for e in xml.iter() if e.tag.endswith("}residentId"))
    head = next(e for e in xml.iter() if e.tag.endswith("}name"))
    return Household(entry["archive"], head.text or "", resident.text or "")


@dataclass(frozen=True)
class Upload:
    """A zipped household SIP the session's home does not hold yet, for the ingest page."""

    path: Path
    archive_id: str


@pytest.fixture(scope="session")
def upload(tmp_path_factory: pytest.TempPathFactory) -> Upload:
    """One household SIP of other demo data (seed 11: an archive the seed-7 home lacks), zipped as a user would."""
    base = tmp_path_factory.mktemp("e2e-upload")
    hsar("demo-data", str(base / "sips"), "--households", "1", "--units", "0", "--seed", "11")
    manifest = json.loads((base / "sips" / "demo_manifest.json").read_text("utf-8"))
    entry = next(e for e in manifest["sips"] if e["kind"] == "household")
    sip = base / "sips" / entry["path"]
    zipped = shutil.make_archive(str(base / sip.name), "zip", root_dir=sip.parent, base_dir=sip.name)
    return Upload(Path(zipped), entry["archive"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(home: Path, secret: str) -> Iterator[str]:
    """``hsar serve`` of ``home`` on a free loopback port; its base URL once it answers; stopped after."""
    port = _free_port()
    log = home / "serve.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from repository.cli import main; sys.exit(main())",
                                 "--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=_env() | {"HSAR_SECRET_KEY": secret}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, url + "/login", log)
        yield url
    finally:
        stop(proc, 15)


@pytest.fixture(scope="session")
def server(demo: tuple[Path, Path]) -> Iterator[str]:
    """The shared demo home served (:func:`serving`) for the whole session."""
    with serving(demo[0], "e2e") as url:
        yield url


def stop(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM (a worker finishes its job step, a server its requests), then SIGKILL after ``timeout`` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def working(home: Path) -> Iterator[Path]:
    """``hsar worker`` on ``home`` while the block runs; its log."""
    log = home / "worker.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from repository.cli import main; sys.exit(main())",
                                 "--home", str(home), "worker"], env=_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        if proc.poll() is not None:
            pytest.fail(f"hsar worker exited with {proc.returncode}:\n{log.read_text('utf-8')}")
        yield log
    finally:
        stop(proc, 30)


@pytest.fixture(scope="session")
def worker(demo: tuple[Path, Path]) -> Iterator[Path]:
    """``hsar worker`` on the session's home (runs the jobs the ingest page makes); its log; stopped at the end."""
    with working(demo[0]) as log:
        yield log


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"hsar serve exited with {proc.returncode}:\n{log.read_text('utf-8')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"hsar serve did not answer {url} within {timeout:.0f} s:\n{log.read_text('utf-8')}")


@pytest.fixture(scope="module")  # Playwright runs an event loop on this thread: closed with each module
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, server: str) -> Iterator[Callable[[], object]]:
    """A fresh browser context (no cookies) per call; every one closed after the test."""
    contexts = []

    def make():
        context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 860}, locale="zh-CN")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, account: Account) -> None:
    page.goto("/login")
    page.fill("input[name=username]", account.username)
    page.fill("input[name=password]", account.password)
    page.check("input[name=purpose_kind][value=work]")  # the purpose of use (利用目的) for the register
    page.click("section.login button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{account.username} could not sign in: {page.inner_text('body')[:500]}"


@pytest.fixture
def signed_in(new_page) -> Callable[[str], object]:
    """``signed_in(role)``: a page of a new browser context, signed in as that role's account."""

    def sign_in(role: str):
        page = new_page()
        log_in(page, ACCOUNTS[role])
        return page

    return sign_in


def view_link(page, *suffixes: str):  # noqa: ANN201 - a Playwright locator
    """The first "view" link of a document whose file name ends in one of ``suffixes`` on an archive page: the
    links name documents by reference (``~N.K``), so the file is found by the name shown beside its link."""
    import re

    named = re.compile("(" + "|".join(re.escape(s) for s in suffixes) + r") · ")
    return page.locator("span.doc", has_text=named).locator("a[href*='/view/']").first


def console_errors(page) -> list[str]:
    """A list that fills, from now on, with the page's console errors and uncaught exceptions (CSP refusals
    are console errors)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    return errors


@pytest.fixture(scope="session", autouse=True)
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where :func:`shoot` writes this session: ``$HSAR_SCREENSHOTS`` (``docs/screenshots`` in ``make test``), else
    a pytest temporary folder."""
    folder = screenshots_folder(os.environ, lambda: tmp_path_factory.mktemp("screenshots"))
    _SHOTS[:] = [folder]
    return folder


def screenshots_folder(environ: Mapping[str, str], temporary: Callable[[], Path]) -> Path:
    """``$HSAR_SCREENSHOTS`` (a relative folder is the clone's), else ``temporary()``."""
    given = environ.get(SCREENSHOTS_ENV, "").strip()
    return ROOT / given if given else temporary()


def shoot(page, name: str) -> Path:
    """``NAME.png`` (overwritten each run) of what the page shows now, in the folder of :func:`screenshots`."""
    folder = _SHOTS[0]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path
