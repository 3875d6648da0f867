"""Fixtures for the catalogue tests: archives built in code, and catalogues on SQLite and PostgreSQL.

The ``catalog`` fixture runs each test against a SQLite file and against a throwaway PostgreSQL cluster
(initdb + pg_ctl from ``/usr/lib/postgresql/*/bin``, unix socket only, trust auth, one fresh database per test).
The PostgreSQL half is skipped, with the reason, when the server binaries or psycopg 3 are missing.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from repository.catalog.records import EventRecord, FileRecord, VersionRecord
from repository.catalog.store import Catalog
from repository.model import (
    Access,
    Archive,
    ArchiveType,
    Household,
    Item,
    MaterialClass,
    Member,
    PackageType,
    PaperRef,
    Person,
    Relation,
    Retention,
    Shelf,
    Status,
    StatusChange,
    Unit,
    Volume,
)

HH = "hh-320102-2021-0001"
UN = "un-320102-0001"
SHELF = Shelf("1", 3, 2, 4)
T1 = datetime(2021, 3, 2, 9, 0, 0, tzinfo=UTC)
T2 = datetime(2023, 5, 10, 14, 30, 0, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ archives


def _item(number: int, cls: MaterialClass, subtype: str, title: str, day: date, volume: str, box: str,
          pages: tuple[int, int], path: str) -> Item:
    paper = PaperRef("1", volume, number, pages[0], pages[1], box, SHELF)
    return Item(number, cls, subtype, title, day, pages[1] - pages[0] + 1, (path,), paper)


def household(version: int = 1) -> Archive:
    """王建国户 at v1 (two application items) or v2 (merged: plus a review and a dynamic item, 另行立卷)."""
    items = [
        _item(1, MaterialClass.APPLICATION, "申请书", "公共租赁住房申请书", date(2021, 3, 2), "2021-0001", "H-0001",
              (1, 2), "data/application/0001-申请书.pdf"),
        _item(2, MaterialClass.APPLICATION, "收入证明", "家庭收入证明", date(2021, 3, 1), "2021-0001", "H-0001",
              (3, 3), "data/application/0002-收入证明.tif"),
    ]
    statuses = [StatusChange(Status.WAITING, date(2021, 3, 2))]
    if version >= 2:
        items += [
            _item(3, MaterialClass.REVIEW, "审核表", "公共租赁住房审核表", date(2021, 4, 1), "2023-0007", "H-0102",
                  (1, 1), "data/review/0003-审核表.pdf"),
            _item(4, MaterialClass.DYNAMIC, "年度复核表", "2022 年度复核表", date(2022, 12, 20), "2023-0007",
                  "H-0102", (2, 4), "data/dynamic/0004-年度复核表.pdf"),
        ]
        statuses.append(StatusChange(Status.PROVIDED, date(2021, 6, 18)))
    return Archive(
        identifier=HH, type=ArchiveType.HOUSEHOLD, package_type=PackageType.HOUSEHOLD_SIP,
        title="王建国户住房保障档案", division="320102002", institution="南京市玄武区住房保障中心", fonds="J001",
        reference_code="J001-ZF·2021-Y-0001", year=2021, retention=Retention.PERMANENT, access=Access.RESTRICTED,
        start=date(2021, 3, 2), end=None, volume=Volume("1", "2021-0001", "H-0001", SHELF), items=tuple(items),
        household=Household(
            head=Person("王建国", "11010519491231002X"),
            members=(Member("李秀英", "110105195205150022", relation="配偶"),),
            address="南京市玄武区梅园新村街道长江路 12 号", income_band="低收入", housing_situation="无自有住房，租住私房",
            security_type="公共租赁住房", statuses=tuple(statuses)),
        relations=(Relation("occupies", UN, date(2021, 7, 1)),),
    )


def unit() -> Archive:
    """The unit the household occupies (一套一档)."""
    items = (
        _item(1, MaterialClass.BASIC, "房屋基本情况表", "房屋基本情况表", date(2020, 5, 1), "U2020-0001", "U-0001",
              (1, 1), "data/basic/0001-房屋基本情况表.pdf"),
        _item(2, MaterialClass.USE, "承租人信息", "承租人信息登记表", date(2021, 7, 1), "U2020-0001", "U-0001",
              (2, 3), "data/use/0002-承租人信息.pdf"),
    )
    return Archive(
        identifier=UN, type=ArchiveType.UNIT, package_type=PackageType.UNIT_SIP, title="锦绣花园 3 栋 1 单元 502 室",
        division="320102", institution="南京市玄武区住房保障中心", fonds="J001", reference_code="J001-FY·2020-Y-0001",
        year=2020, retention=Retention.PERMANENT, access=Access.OPEN, start=date(2020, 5, 1), end=None,
        volume=Volume("2", "U2020-0001", "U-0001", SHELF), items=items,
        unit=Unit(project="玄武区公共租赁住房一期", estate="锦绣花园", address="南京市玄武区锦绣路 8 号",
                  building="3", entrance="1", room="502", layout="两室一厅", area=58.6, source="配建",
                  ownership="政府所有", housing_type="公共租赁住房"),
        relations=(Relation("occupiedBy", HH, date(2021, 7, 1)),),
    )


# ------------------------------------------------------------------------------------------ records


def payload(path: str) -> bytes:
    """Deterministic bytes standing in for a payload file."""
    return f"%PDF-1.7 stand-in for {path}\n".encode() * (3 + len(path) % 5)


PUIDS = {".pdf": ("fmt/276", "Acrobat PDF 1.7 - Portable Document Format", "1.7"),
         ".tif": ("fmt/353", "Tagged Image File Format", None)}


def file_records(archive: Archive, added: dict[str, str]) -> list[FileRecord]:
    records = []
    for item in archive.items:
        for path in item.files:
            data = payload(path)
            puid, name, fversion = PUIDS[Path(path).suffix]
            records.append(FileRecord(path, len(data), hashlib.sha512(data).hexdigest(), puid, name, None,
                                      item.number, added.get(path, "v1"), fversion))
    return sorted(records, key=lambda f: f.path)


def events_for(version: int, archive: Archive, when: datetime) -> list[EventRecord]:
    """Events of one ingest, deliberately not in time order."""
    first = archive.items[0].files[0]
    return [
        EventRecord(f"00000000-0000-4000-8000-{version:04d}00000002", "ingestion", when + timedelta(minutes=5),
                    "success", f"SIP {archive.identifier} v{version} ingested", "hsar", None),
        EventRecord(f"00000000-0000-4000-8000-{version:04d}00000001", "format identification",
                    when + timedelta(minutes=1), "success", "PRONOM identification", "FIDO", first),
        EventRecord(f"00000000-0000-4000-8000-{version:04d}00000003", "digital signature generation",
                    when + timedelta(minutes=6), "success", None, "hsar; pyHanko", None),
    ]


CHECKS = {"standard": "DA/T 70-2018", "stage": "GD", "result": "pass",
          "groups": {"authenticity": "pass", "integrity": "pass", "usability": "pass", "security": "pass"},
          "counts": {"pass": 12}}


def make_record(archive: Archive, version: int, when: datetime, **changes: object) -> VersionRecord:
    added = {f: "v1" for f in household(1).files() + unit().files()}
    rec = VersionRecord(archive=archive, version=f"v{version}", created=when, message=f"ingest v{version}",
                        sip_name=f"{archive.identifier}-v{version}.zip", files=file_records(archive, added),
                        events=events_for(version, archive, when), checks_summary=dict(CHECKS), user="archivist")
    return dataclasses.replace(rec, **changes) if changes else rec


def with_v2_added(rec: VersionRecord) -> VersionRecord:
    """Mark the v2 household payload that v2 added."""
    new = set(household(2).files()) - set(household(1).files())
    files = [dataclasses.replace(f, version_added="v2") if f.path in new else f for f in rec.files]
    return dataclasses.replace(rec, files=files)


@pytest.fixture
def records() -> dict[str, VersionRecord]:
    """``hh1``, ``hh2`` (a supplement adding items 3 and 4) and ``un1``."""
    return {
        "hh1": make_record(household(1), 1, T1),
        "hh2": with_v2_added(make_record(household(2), 2, T2, message="supplement 2023")),
        "un1": make_record(unit(), 1, T1 - timedelta(days=400)),
    }


# ------------------------------------------------------------------------------------------ PostgreSQL


def _pg_bindir() -> Path | None:
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    candidates = [p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    if not candidates:
        return None
    return max(candidates, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def _server_user() -> pwd.struct_passwd | None:
    """initdb refuses root: the ``postgres`` account the package made, else a new one."""
    for name in ("postgres", "hsar-pg"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    result = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "hsar-pg"],
                            capture_output=True)
    return pwd.getpwnam("hsar-pg") if result.returncode == 0 else None


@dataclass
class PgServer:
    bindir: Path
    base: Path
    port: int
    user: str = "hsar"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.base}&port={self.port}"

    def admin(self):  # noqa: ANN201
        import psycopg

        return psycopg.connect(host=str(self.base), port=self.port, user=self.user, dbname="postgres",
                               autocommit=True)


def _run(cmd: list[str], run_as: pwd.struct_passwd | None, cwd: Path) -> None:
    if run_as is not None:
        cmd = ["runuser", "-u", run_as.pw_name, "--", *cmd]
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stdout}{result.stderr}")


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (no /usr/lib/postgresql/*/bin/initdb); "
                    "install them with: apt-get install -y postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg 3 not installed: .venv/bin/pip install 'psycopg[binary]'")
    run_as = None
    if os.geteuid() == 0:
        run_as = _server_user()
        if run_as is None:
            pytest.skip("running as root and no unprivileged account for the PostgreSQL server could be made")
    # Not tmp_path: pytest's temp root is private to root (0700) and a socket path must stay short (< 108 bytes).
    base = Path(tempfile.mkdtemp(prefix="hsar-pg-"))
    if run_as is not None:
        os.chown(base, run_as.pw_uid, run_as.pw_gid)
    server = PgServer(bindir, base, 5432 + os.getpid() % 1000)
    data, log = base / "data", base / "server.log"
    try:
        _run([str(bindir / "initdb"), "-D", str(data), "-U", server.user, "-A", "trust", "-E", "UTF8",
              "--no-locale", "--no-sync"], run_as, base)
        options = f"-k {base} -c listen_addresses='' -p {server.port} -F"
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"], run_as, base)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start a throwaway PostgreSQL cluster: {exc}")
    yield server
    _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], run_as, base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer):
    name = "hsar_" + uuid.uuid4().hex[:12]
    with pg_server.admin() as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
    yield pg_server.url(name)
    with pg_server.admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'catalog.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def catalog(catalog_url):
    with Catalog(catalog_url) as cat:
        cat.create()
        yield cat


@pytest.fixture
def build():
    """The factories above, for tests (conftest modules cannot be imported under --import-mode=importlib)."""
    import types

    return types.SimpleNamespace(HH=HH, UN=UN, T1=T1, T2=T2, CHECKS=CHECKS, household=household, unit=unit,
                                 payload=payload, make_record=make_record, with_v2_added=with_v2_added,
                                 file_records=file_records, events_for=events_for, PUIDS=PUIDS)
