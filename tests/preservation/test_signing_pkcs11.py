"""A signing key held in a PKCS#11 token (SoftHSM2 in a token directory of the test's own): versions are
signed through pyHanko's PKCS#11 signer, the key file is gone from the home, and the audit verifies them."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repository.errors import SigningError
from repository.home import Repository
from repository.home.init import init_home

MODULES = [Path("/usr/lib/softhsm/libsofthsm2.so"), Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")]
MODULE = next((m for m in MODULES if m.is_file()), None)
pytestmark = pytest.mark.skipif(MODULE is None or shutil.which("softhsm2-util") is None,
                                reason="SoftHSM2 is not installed (apt install softhsm2)")
PIN = "5678"


@pytest.fixture(scope="module")
def token_template(tmp_path_factory):
    """A home whose signer key was imported into a SoftHSM2 token and then deleted from the home. One per
    module: a PKCS#11 library reads its configuration (SOFTHSM2_CONF) once per process."""
    top = tmp_path_factory.mktemp("pkcs11")
    tokens = top / "tokens"
    tokens.mkdir()
    conf = top / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        home = top / "home"
        init_home(home)
        key = home / "keys" / "signer.key.pem"
        for command in (["--init-token", "--free", "--label", "hsar-test", "--so-pin", "1234", "--pin", PIN],
                        ["--import", str(key), "--token", "hsar-test", "--label", "signer", "--id", "01", "--pin", PIN]):
            subprocess.run(["softhsm2-util", *command], check=True, capture_output=True)
        key.unlink()  # nothing left in the home that could sign
        yield home, conf


@pytest.fixture
def token_home(token_template, tmp_path, monkeypatch):
    template, conf = token_template
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    monkeypatch.setenv("HSAR_TEST_TOKEN_PIN", PIN)
    home = tmp_path / "home"
    shutil.copytree(template, home)
    _configure(home, key="signer", pin='pkcs11_pin_env = "HSAR_TEST_TOKEN_PIN"')
    return home


def _configure(home: Path, *, key: str, pin: str) -> None:
    toml = home / "hsar.toml"
    text = toml.read_text("utf-8")
    lines = [f'pkcs11_module = "{MODULE}"', 'pkcs11_token = "hsar-test"', f'pkcs11_key = "{key}"', pin]
    body = [line for line in text.split("\n") if not line.startswith("pkcs11_")]
    at = body.index("[signing]") + 1
    toml.write_text("\n".join(body[:at] + lines + body[at:]), "utf-8")


def test_ingest_signs_with_the_token_and_the_audit_verifies(token_home, tmp_path):
    from repository.audit.run import Selection, audit
    from repository.demo.generate import write_demo_data
    from repository.ingest.pipeline import ingest
    from repository.preservation.signing import verify_detached

    sips = write_demo_data(tmp_path / "sips", households=1, units=0, seed=3)
    with Repository.open(token_home) as repo:
        outcomes = ingest(repo, sips)
        assert [o.status for o in outcomes] == ["ingested"] * len(sips), [o.to_dict("en") for o in outcomes]
        run = audit(repo, Selection("all"), now=datetime.now(UTC))
        assert run.ok and run.archives and all(a.signature_ok for a in run.archives)
        p7s = next(repo.store.root.rglob("manifest-sha512.txt.p7s"))
        status = verify_detached(p7s.with_suffix("").read_bytes(), p7s.read_bytes(), repo.trust_roots)
        assert status.bottom_line and "DEMO signer" in (status.signer_subject or "")


def test_the_pin_comes_from_a_file(token_home):
    from repository.preservation.signing import load_signer, lock_version, verify_detached

    (token_home / "pin.txt").write_text(PIN + "\n")
    _configure(token_home, key="signer", pin='pkcs11_pin_file = "pin.txt"')
    with Repository.open(token_home) as repo:
        manifest, p7s = lock_version({"data/a.pdf": "a" * 128}, load_signer(repo.cfg))
        assert verify_detached(manifest, p7s, repo.trust_roots).bottom_line


@pytest.mark.parametrize(("key", "pin", "code"), [
    ("signer", 'pkcs11_pin_env = "HSAR_NO_SUCH_VARIABLE"', "SIGNING-PIN"),
    ("signer", "", "SIGNING-PIN"),
    ("no-such-key", 'pkcs11_pin_env = "HSAR_TEST_TOKEN_PIN"', "SIGNING-PKCS11"),
])
def test_a_token_that_cannot_sign_is_a_clear_error(token_home, key, pin, code):
    from repository.preservation.signing import load_signer

    _configure(token_home, key=key, pin=pin)
    with Repository.open(token_home) as repo, pytest.raises(SigningError) as caught:
        load_signer(repo.cfg)
    assert caught.value.code == code and caught.value.msgid and caught.value.msgid.startswith("signing.pkcs11.")


def test_a_wrong_pin_is_a_clear_error(token_home, monkeypatch):
    """In a process of its own: a token stays logged in for the process that logged in first."""
    import sys

    monkeypatch.setenv("HSAR_TEST_TOKEN_PIN", "0000")
    code = ("from repository.home import Repository; from repository.errors import SigningError\n"
            "from repository.preservation.signing import load_signer\n"
            f"repo = Repository.open({str(token_home)!r})\n"
            "try:\n    load_signer(repo.cfg)\nexcept SigningError as exc:\n    print(exc.code, exc)\n")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.startswith("SIGNING-PKCS11 ") and "PinIncorrect" in out.stdout, out.stdout + out.stderr
