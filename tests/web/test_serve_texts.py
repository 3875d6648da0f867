"""``hsar serve`` over real HTTP (waitress in a subprocess), and every text key the templates use."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from repository import messages

HSAR = str(Path(sys.executable).parent / "hsar")
TEMPLATES = Path(__file__).resolve().parents[2] / "repository" / "web" / "templates"


def test_hsar_serve_answers_the_login_page(web_home: Path, free_port: Callable[[], int]) -> None:
    port = free_port()
    proc = subprocess.Popen([HSAR, "--home", str(web_home), "serve", "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline, body, server = time.monotonic() + 30, "", ""
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    body, server = response.read().decode("utf-8"), response.headers.get("Server", "")
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.3)
        assert 'name="csrf_token"' in body and "登录" in body
        assert server == "hsar"  # waitress (its ident), not the Flask development server
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # waits, and closes the pipes (left to the garbage collector otherwise)


def test_hsar_serve_refuses_a_folder_that_is_not_a_home(tmp_path: Path) -> None:
    done = subprocess.run([HSAR, "--home", str(tmp_path / "none"), "serve"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_hsar_serve_refuses_a_state_database_of_an_older_schema(tmp_path: Path) -> None:
    from repository.config import load as load_config
    from repository.home import init_home
    from repository.state.db import downgrade_state

    home = tmp_path / "home"  # a home of its own: the session's demo home is open in this process
    init_home(home)
    downgrade_state(load_config(home).state_url, "0005")  # as a home made before the security log
    done = subprocess.run([HSAR, "--home", str(home), "--lang", "en", "serve", "--port", "1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "[STATE]" in done.stderr and "hsar init" in done.stderr  # at start, not a 500 at every sign-in


def test_every_text_key_in_the_templates_exists_in_both_languages() -> None:
    used = {m for f in TEMPLATES.glob("*.html") for m in re.findall(r"t\('(web\.[a-z_.]+[a-z])'",
                                                                      f.read_text("utf-8"))}
    assert len(used) > 50
    missing = sorted(k for k in used if not messages.has(k))
    assert not missing


def test_hsar_serve_takes_a_proxy_by_its_ip_address_only(web_home: Path) -> None:
    for value in ("nginx.local", "*", "127.0.0.1/8"):
        done = subprocess.run([HSAR, "--home", str(web_home), "--lang", "en", "serve", "--proxy", value],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert f"'{value}' is not an IP address" in done.stderr
