"""``hsar ingest PATH... [--json] [--workers N]``: JSON Lines shape, exit codes, rejection reports, folders.

Exit 0 when every SIP was ingested or was an exact duplicate, 1 when any was rejected, 2 for unusable
arguments. ``--json`` prints one object per SIP per line: sip, status, archive_id, version, issues (and the
report path of a rejection). A rejected SIP leaves a report in ``rejected/`` and nothing in the store.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from repository.cli import cli
from repository.demo.generate import write_demo_data
from repository.descriptive import read_descriptive
from repository.home import Repository, init_home
from repository.sip.build import write_sip

KEYS = {"sip", "status", "archive_id", "version", "issues", "report", "checks"}


@pytest.fixture(scope="module")
def sips(tmp_path_factory) -> list[Path]:
    """One household with its supplements and one unit, in ingest order."""
    root = tmp_path_factory.mktemp("cli-demo") / "sips"
    return write_demo_data(root, households=1, units=1, seed=3)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli-template") / "home"
    init_home(home)
    return home


@pytest.fixture
def home(template, tmp_path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "home"))


def run(home: Path, *args: str):
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", "ingest", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def tampered(sip: Path, target: Path) -> Path:
    shutil.copytree(sip, target)
    victim = sorted((target / "data").rglob("*.*"))[0]
    victim.write_bytes(victim.read_bytes() + b"\0")
    return target


def store_files(home: Path) -> list[str]:
    return sorted(p.relative_to(home).as_posix() for p in (home / "storage").rglob("*") if p.is_file())


def test_json_is_one_object_per_sip_per_line_and_exit_0(sips, home):
    result = run(home, "--json", *map(str, sips))
    assert result.exit_code == 0, result.output
    out = lines(result)
    assert len(out) == len(sips) == len(result.stdout.splitlines())
    for sip, obj in zip(sips, out, strict=True):
        assert set(obj) == KEYS
        assert obj["sip"] == str(sip) and obj["status"] == "ingested" and obj["report"] is None
        assert obj["archive_id"] and obj["version"].startswith("v") and isinstance(obj["issues"], list)
        assert obj["checks"]["result"] in ("pass", "warn") and len(obj["checks"]["groups"]) == 4  # 四性检测
    versions: dict[str, list[str]] = {}
    for obj in out:
        versions.setdefault(obj["archive_id"], []).append(obj["version"])
    assert all(v == [f"v{n}" for n in range(1, len(v) + 1)] for v in versions.values())
    assert max(len(v) for v in versions.values()) >= 2  # a supplement made a v2
    again = run(home, "--json", *map(str, sips))
    assert again.exit_code == 0  # exact duplicates are not failures
    assert [(o["status"], o["report"]) for o in lines(again)] == [("duplicate", None)] * len(sips)
    assert [o["version"] for o in lines(again)] == [o["version"] for o in out]  # the version each SIP became


def test_a_rejected_sip_exits_1_leaves_a_report_and_nothing_in_the_store(sips, home, tmp_path):
    bad = tampered(sips[1], tmp_path / "bad-bag")
    result = run(home, "--json", str(bad), str(sips[0]))
    assert result.exit_code == 1
    rejected, ok = lines(result)
    assert rejected["status"] == "rejected" and rejected["version"] is None
    assert "BAG011" in {i["code"] for i in rejected["issues"]}
    assert all({"code", "severity", "message", "path"} <= set(i) for i in rejected["issues"])
    report = Path(rejected["report"])
    assert report.parent == home / "rejected" and report.name.startswith("bad-bag-")
    assert "BAG011" in {i["code"] for i in json.loads(report.read_text("utf-8"))["issues"]}
    assert ok["status"] == "ingested"
    with Repository.open(home) as repo:
        assert repo.catalog.archive_ids() == [ok["archive_id"]]
    alone = run(home, "--json", str(bad))  # and on its own: exit 1, the store as it was
    before = store_files(home)
    assert alone.exit_code == 1 and lines(alone)[0]["status"] == "rejected"
    assert store_files(home) == before


def test_text_output_and_summary(sips, home, tmp_path):
    bad = tampered(sips[0], tmp_path / "bad")
    result = run(home, str(sips[0]), str(bad))
    assert result.exit_code == 1
    assert "ingested" in result.stdout and "[BAG011]" in result.stdout and "report:" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "2 SIPs: 1 ingested, 0 duplicate, 1 rejected"


def test_a_folder_of_sips_rejects_what_is_not_a_bag_instead_of_skipping_it(sips, home, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copytree(sips[0], drop / "a-good")
    broken = shutil.copytree(sips[0], drop / "b-no-bagit-txt")
    (broken / "bagit.txt").unlink()
    (drop / "c-package.rar").write_bytes(b"Rar!\x1a\x07\x00" + b"\0" * 64)
    (drop / "notes.txt").write_text("not a SIP", "utf-8")
    (drop / "z-not-a-bag").mkdir()
    result = run(home, "--json", str(drop))
    assert result.exit_code == 1
    got = {Path(o["sip"]).name: (o["status"], {i["code"] for i in o["issues"]}) for o in lines(result)}
    assert got["a-good"][0] == "ingested"
    assert got["b-no-bagit-txt"] == ("rejected", {"BAG001"})
    assert got["c-package.rar"][0] == "rejected" and "PKG001" in got["c-package.rar"][1]
    assert set(got) == {"a-good", "b-no-bagit-txt", "c-package.rar"}
    assert "skipped" in result.stderr and "notes.txt" in result.stderr and "z-not-a-bag" in result.stderr


def test_nothing_to_ingest_is_a_usage_error(home, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run(home, str(tmp_path / "empty"))
    assert result.exit_code == 2 and "USAGE" in result.stderr


def test_workers_give_the_same_outcomes(sips, home, template, tmp_path):
    other = Path(shutil.copytree(template, tmp_path / "other"))
    one = run(home, "--json", *map(str, sips))
    two = run(other, "--json", "--workers", "2", *map(str, sips))
    assert one.exit_code == two.exit_code == 0
    pick = ("sip", "status", "archive_id", "version")
    assert [{k: o[k] for k in pick} for o in lines(one)] == [{k: o[k] for k in pick} for o in lines(two)]
    with Repository.open(other) as repo:
        assert repo.search.count() == len({o["archive_id"] for o in lines(two)})
        assert [p.name for p in (other / "staging").iterdir() if p.name != ".ingest.lock"] == []


def test_show_clears_what_a_killed_ingest_left(sips, home):
    from repository.ingest import pipeline

    with Repository.open(home) as repo:  # a kill after the store commit, before catalogue and index
        real = pipeline._record
        pipeline._record = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
        try:
            with pytest.raises(KeyboardInterrupt):
                pipeline.ingest(repo, [sips[0]])
        finally:
            pipeline._record = real
        archive = repo.store.iter_object_ids().__next__().rsplit(":", 1)[-1]
        assert repo.catalog.show(archive) is None
    assert any(p.name.startswith("intent-") for p in (home / "staging").iterdir())
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", "show", "--json", archive])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["head_version"] == "v1"
    assert [p.name for p in (home / "staging").iterdir() if p.name != ".ingest.lock"] == []


# ------------------------------------------------------------------------ one SIP's failure, the warm-up, logs


def _hsar(*args: str) -> subprocess.CompletedProcess[str]:
    hsar = Path(sys.executable).parent / "hsar"
    if not hsar.is_file():
        pytest.skip(f"the hsar command is not installed beside {sys.executable}")
    return subprocess.run([str(hsar), *args], capture_output=True, text=True, timeout=300, check=False,
                          stdin=subprocess.DEVNULL)


def _rebag(sip: Path, out: Path, *, renames: dict[str, str] | None = None,
           replace: dict[str, bytes] | None = None) -> Path:
    """``sip`` bagged again, payload paths renamed (in the description too) and some files' bytes replaced."""
    archive = read_descriptive(sip / "metadata" / "descriptive.xml")
    renames, replace = renames or {}, replace or {}
    items = tuple(dataclasses.replace(i, files=tuple(renames.get(f, f) for f in i.files)) for i in archive.items)
    archive = dataclasses.replace(archive, items=items)
    payload = {renames.get(f, f): replace.get(f, (sip / f).read_bytes()) for f in
               (p.relative_to(sip).as_posix() for p in sorted((sip / "data").rglob("*")) if p.is_file())}
    return write_sip(archive, payload, out, source_organization=archive.institution, bagging_date=date(2025, 1, 2))


def _first_pdf(sip: Path) -> str:
    return next(p.relative_to(sip).as_posix() for p in sorted((sip / "data").rglob("*.pdf")))


def test_one_rejected_sip_never_meets_the_warm_up_thread_mid_import(sips, home, tmp_path):
    """The jieba warm-up thread used to import ``repository.search`` while the main thread did too: Python
    broke the import deadlock with a partially initialised module, and a single bad SIP ended in exit 3
    with the thread's traceback. Each run is a fresh process, as the race needs."""
    broken = Path(shutil.copytree(sips[0], tmp_path / "no-bagit-txt"))
    (broken / "bagit.txt").unlink()
    for _ in range(6):
        done = _hsar("--home", str(home), "--lang", "en", "ingest", "--json", str(broken))
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr and "INTERNAL" not in done.stderr, done.stderr
        assert [i["code"] for i in json.loads(done.stdout)["issues"]] == ["BAG001"]


def test_a_sip_failing_while_it_is_ingested_is_rejected_and_the_batch_goes_on(sips, home, tmp_path, monkeypatch):
    """A payload name the signed manifest cannot hold, let through by a validator that missed it (the
    validator now refuses it: PAY004), made the whole batch stop with one SIGNING line: no report, no JSON
    line, the next SIP never ingested."""
    from repository.sip import validate

    monkeypatch.setattr(validate, "name_issues", lambda paths: [], raising=False)
    household = next(s for s in sips if "household" in s.name)
    pdf = _first_pdf(household)
    bad = _rebag(household, tmp_path / "newline-name", renames={pdf: pdf[:-4] + "\n.pdf"})
    result = run(home, "--json", str(bad), str(sips[0]))
    assert result.exit_code == 1, result.output
    assert "SIGNING" not in result.stderr
    rejected, ok = lines(result)
    assert rejected["status"] == "rejected" and [i["code"] for i in rejected["issues"]] == ["ING007"]
    assert "manifest" in rejected["issues"][0]["message"]
    report = json.loads(Path(rejected["report"]).read_text("utf-8"))
    assert report["status"] == "rejected" and [i["code"] for i in report["issues"]] == ["ING007"]
    assert ok["status"] == "ingested"
    with Repository.open(home) as repo:
        assert repo.catalog.archive_ids() == [ok["archive_id"]]
    assert [p.name for p in (home / "staging").iterdir() if p.name.startswith(("sip-", "intent-"))] == []


def test_another_ingest_running_is_said_in_the_interface_language(sips, home):
    lock = home / "staging" / ".ingest.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'w')\nfcntl.lockf(f, fcntl.LOCK_EX)\n"
         "print('locked', flush=True)\ntime.sleep(120)\n", str(lock)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = run(home, str(sips[0]))
        rebuilds = [CliRunner().invoke(cli, ["--home", str(home), command]) for command in ("rebuild-catalog", "reindex")]
    finally:
        holder.kill()
        holder.wait(30)
        holder.stdout.close()
    assert result.exit_code == 75  # EX_TEMPFAIL: busy, not failed
    [line] = result.stderr.strip().splitlines()
    assert line == "error [ING-BUSY]: another ingest is running in this home; try again when it has finished"
    for rebuilt in rebuilds:  # a rebuild would lose what the ingest records meanwhile: refused alike
        assert rebuilt.exit_code == 75 and "[ING-BUSY]" in rebuilt.output, rebuilt.output


def _self_signed(d: Path) -> signers.SimpleSigner:
    """A throwaway self-signed signing certificate: no trust root of the home knows it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "自签名测试 Self-signed test")])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).add_extension(usage, critical=True)
            .sign(key, hashes.SHA256()))
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return signers.SimpleSigner.load(str(d / "key.pem"), str(d / "cert.pem"))


def test_a_pdf_signed_by_an_untrusted_certificate_logs_no_traceback(sips, home, tmp_path):
    """pyHanko logs a traceback (PathBuildingError) for a signer it cannot trust; the outcome is in the
    issues (FMT007), and library log records stay off the terminal unless --debug is given."""
    household = next(s for s in sips if "household" in s.name)
    pdf = _first_pdf(household)
    signed = io.BytesIO()
    with open(household / pdf, "rb") as original:
        signers.sign_pdf(IncrementalPdfFileWriter(original), signers.PdfSignatureMetadata(field_name="Seal1"),
                         signer=_self_signed(tmp_path), output=signed)
    sip = _rebag(household, tmp_path / "signed", replace={pdf: signed.getvalue()})
    done = _hsar("--home", str(home), "--lang", "en", "ingest", "--json", str(sip))
    assert "Traceback" not in done.stderr and "PathBuildingError" not in done.stderr, done.stderr
    assert done.stderr == ""
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "ingested", outcome
    assert {"FMT006", "FMT007"} & {i["code"] for i in outcome["issues"]}
