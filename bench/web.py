"""Web benchmark: the search API and pages of ``hsar serve`` over N synthetic archives, against the library.

    .venv/bin/python bench/web.py --archives 200000      # or --quick (5,000 archives)
    .venv/bin/python bench/web.py --workdir W --build-only, then --workdir W --reuse  # build once, load often

Build (timed, never by ingesting SIPs): a home made by ``hsar init`` (Tantivy); N synthetic archives from
``bench/search.py``'s generator written into the catalogue as bulk inserts of the rows its own writer
builds (``catalog.write._archive_row`` and friends; 1,000 archives per transaction) and, as search documents (``build_documents``, jieba in 2 processes), into
the engine (add, one commit); an admin (whole city) and a district archivist, each with a bearer token.

Serve: two ``hsar serve`` processes (waitress, 4 threads each) on two loopback ports; the client (Python
threads, http.client keep-alive, bounded in requests and seconds) sends each request round-robin to them,
8 at a time. Every measured line also shows the client's CPU per request (and in cores): the client runs on the
servers' cores. ``--client wrk`` (Debian: ``apt-get install wrk``) sends the measured lines by wrk instead: one
wrk per server port, 1 thread and 4 keep-alive connections each (8 in all), its Lua script ``bench/web_wrk.lua``
cycling through the same paths (every other one for each port) with the same bearer token or session cookie.
wrk bounds only time (``--seconds``); the script stops each wrk after half the line's ``--requests`` answers.
Latencies: the two wrk histograms merged (exact p50/p95 over both) after taking out the coordinated-omission
samples wrk 4 adds to them (its own corrected p95 is shown beside); req/s: the two summed. Any answer other
than 200, or a lost connection, fails the line (and the run: exit 1). Warm-ups, the statistics page and the
first load stay with the Python client. Measured, beside the goals:

- p50/p95 of the search API and the search page for selective queries (resident ID, name, division + year)
  and broad ones (a common word, with the six facets) — goals <= 50 ms selective, <= 150 ms broad;
- throughput of a mix of those API queries vs the same SearchRequests run by the search service in two
  processes (4 threads each, one Repository each), same run, as a ratio (goal >= 0.8); and, to tell the
  server's share from the application's, the same API requests handed to the web application as a WSGI call
  in two such processes, with no socket and no HTTP server;
- archive page p95 (goal <= 50 ms); statistics page time (sequential, goal <= 300 ms);
- bytes of a first load of the search page and its static assets (goal <= 500 KB);
- peak memory (VmHWM) of each server process.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from repository import quiet_third_party_warnings  # noqa: E402

quiet_third_party_warnings(sys.argv[1:])  # pyHanko's DSA deprecation and the like: as the CLI does

from search import BROAD, Generator, pct  # noqa: E402  (bench/search.py)
from sqlalchemy import insert  # noqa: E402

from repository.catalog import tables  # noqa: E402
from repository.catalog import write as w  # noqa: E402
from repository.catalog.records import FileRecord, VersionRecord  # noqa: E402
from repository.search import SearchRequest, build_documents, open_engine  # noqa: E402
from repository.search.idkeys import load_key  # noqa: E402

HSAR = [sys.executable, "-c", "import sys; from repository.cli import main; sys.argv[0] = \"hsar\"; main()"]
CONCURRENCY = 8
WRK_LUA = Path(__file__).resolve().parent / "web_wrk.lua"
WRK_CONNECTIONS = CONCURRENCY // 2  # per server port: one wrk per port, 8 connections in all
CLIENT = {"kind": "python"}  # --client: who sends the measured lines
FAILED: list[str] = []  # lines with a non-200 answer or a socket error under --client wrk (exit 1)
PASSWORD = "bench-web-password-1"  # noqa: S105 - a throwaway account on a throwaway home
REFUSALS: dict[str, int] = {}  # error codes in the bodies of non-200 answers, over the whole run
FACETS = ("division", "type", "class", "year", "security", "status")  # the page's and the API's default


# -- build --------------------------------------------------------------------------------------------------


def hsar(home: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([*HSAR, "--home", str(home), "--lang", "en", *args], input=stdin, capture_output=True,
                          text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"hsar {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Built:
    ids: list[str] = field(default_factory=list)  # sampled resident IDs
    names: list[str] = field(default_factory=list)
    archives: list[str] = field(default_factory=list)  # sampled archive identifiers
    div_years: list[tuple[str, int]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def build(home: Path, size: int, seed: int) -> Built:
    from repository.home import Repository

    out = Built()
    t0 = time.perf_counter()
    hsar(home, "init")
    toml = home / "hsar.toml"
    toml.write_text(re.sub(r'(?m)^engine = "whoosh"', 'engine = "tantivy"', toml.read_text("utf-8")), "utf-8")
    out.seconds["init"] = time.perf_counter() - t0
    repo = Repository.open(home)
    catalog = repo.catalog
    gen = Generator(seed)
    rng = random.Random(seed + 1)
    now = datetime.now(UTC)
    pending: list[VersionRecord] = []
    spent = {"catalogue": 0.0}

    def flush() -> None:  # bulk inserts of the rows catalog.write.record would write, 1,000 archives at once
        t = time.perf_counter()
        rows: dict = {name: [] for name in ("archives", "versions", "items", "paper_refs", "people", "files")}
        for rec in pending:
            a = rec.archive
            vid = int(a.identifier.rsplit("-", 1)[1]) + 1
            rows["archives"].append({**w._archive_row(rec, 1), "created": now})  # noqa: SLF001
            rows["versions"].append({**w._version_row(rec, 1), "id": vid})  # noqa: SLF001
            rows["items"] += [{"archive_id": a.identifier, "number": i.number, "material_class": i.material_class.value,
                               "subtype": i.subtype, "title": i.title, "date": i.date, "pages": i.pages,
                               "version_added": "v1"} for i in a.items]
            rows["paper_refs"] += [{"archive_id": a.identifier, "item_number": i.number,
                                    "catalogue": i.paper.catalogue, "volume": i.paper.volume, "item": i.paper.item,
                                    "page_start": i.paper.page_start, "page_end": i.paper.page_end,
                                    "box": i.paper.box, **w._shelf("shelf_", i.paper.shelf)}  # noqa: SLF001
                                   for i in a.items]
            if a.household is not None:
                h = a.household
                rows["people"].append({"archive_id": a.identifier, "role": "head", "name": h.head.name,
                                       "resident_id": h.head.resident_id, "relation": None})
                rows["people"] += [{"archive_id": a.identifier, "role": "member", "name": m.name,
                                    "resident_id": m.resident_id, "relation": m.relation} for m in h.members]
            rows["files"] += [{"archive_id": a.identifier, "version_id": vid, "path": f.path, "size": f.size,
                               "sha512": f.sha512, "puid": f.puid, "format_name": f.format_name,
                               "format_version": None, "policy": f.policy, "item_number": f.item_number,
                               "version_added": "v1"} for f in rec.files]
        with catalog.transaction(write=True) as conn:
            for name, batch_rows in rows.items():
                if batch_rows:
                    conn.execute(insert(getattr(tables, name)), batch_rows)
        spent["catalogue"] += time.perf_counter() - t
        pending.clear()

    def sources():  # generate, write the catalogue as we go, hand the triples to the analysis
        for n in range(size):
            archive, version, texts = gen.archive(n)
            files = [FileRecord(path, 40_000 + n % 997, f"{n:0128x}", "fmt/276", "PDF", "preserve",
                                item.number, "v1") for item in archive.items for path in item.files]
            pending.append(VersionRecord(archive, version, now, "bench", f"bench-{n}", files, []))
            if len(pending) == 1000:
                flush()
            if rng.random() < 0.01:
                out.archives.append(archive.identifier)
                out.div_years.append((archive.division[:6] if rng.random() < 0.5 else archive.division,
                                      archive.year))
            yield archive, version, texts
        if pending:
            flush()

    t0 = time.perf_counter()
    # the home's identity-number key, as `hsar reindex` opens the engine: without it the index holds the numbers
    # undigested while the servers digest the asked one, and every search by resident ID finds nothing
    engine = open_engine("tantivy", repo.paths.index, rebuild=True, id_key=load_key(repo.paths.index_key))
    batch: list = []
    index_s = 0.0
    for doc in build_documents(sources(), workers=2, chunksize=200):
        batch.append(doc)
        if len(batch) == 2000:
            t = time.perf_counter()
            engine.add(batch)
            index_s += time.perf_counter() - t
            batch = []
    t = time.perf_counter()
    engine.add(batch)
    engine.commit()
    engine.close()
    index_s += time.perf_counter() - t
    repo.close()
    out.seconds["archives"] = time.perf_counter() - t0
    out.seconds["catalogue"] = spent["catalogue"]
    out.seconds["engine"] = index_s
    out.ids, out.names = gen.samples.ids, gen.samples.names
    return out


def save_built(path: Path, built: Built, tokens: dict[str, str], build_s: float) -> None:
    data = {"built": {**vars(built), "div_years": [list(d) for d in built.div_years]}, "tokens": tokens,
            "build_s": build_s}
    path.write_text(json.dumps(data), "utf-8")


def load_built(path: Path) -> tuple[Built, dict[str, str], float]:
    data = json.loads(path.read_text("utf-8"))
    b = data["built"]
    built = Built(b["ids"], b["names"], b["archives"], [(d, int(y)) for d, y in b["div_years"]], b["seconds"])
    return built, data["tokens"], float(data["build_s"])


# -- serving and the client ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_servers(home: Path, count: int, threads: int) -> list[tuple[subprocess.Popen, int]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
           "HSAR_SECRET_KEY": "bench-web-" + os.urandom(8).hex()}  # one key: a session cookie works on both
    servers = []
    for _ in range(count):
        port = free_port()
        log = open(home / f"serve-{port}.log", "wb")  # noqa: SIM115 - open while the server runs
        proc = subprocess.Popen([*HSAR, "--home", str(home), "serve", "--port", str(port), "--threads", str(threads)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        servers.append((proc, port))
    for proc, port in servers:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"hsar serve on port {port} did not start") from None
                time.sleep(0.2)
    return servers


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(servers: list[tuple[subprocess.Popen, int]], limit: float) -> float:
    """Wait (at most ``limit`` seconds) until every server idles: its start-up work (the catalogue indexes, the
    statistics census: tens of CPU seconds at 200,000 archives) otherwise runs beside the measured searches on
    the same cores. Seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        before = [cpu_seconds(proc.pid) for proc, _ in servers]
        time.sleep(1.0)
        if all(cpu_seconds(proc.pid) - b < 0.05 for (proc, _), b in zip(servers, before, strict=True)):
            break
    return time.perf_counter() - start


def vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def login(port: int, username: str) -> str:
    """A session cookie for ``username`` (the login form, with its CSRF token)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    body = resp.read().decode()
    cookie = resp.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "next": "", "username": username, "password": PASSWORD,
                                   "purpose_kind": "work", "purpose_note": "bench"})
    conn.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    resp = conn.getresponse()
    resp.read()
    if resp.status not in (302, 303):
        raise SystemExit(f"login of {username} failed: HTTP {resp.status}")
    return resp.getheader("Set-Cookie", "").split(";")[0]


@dataclass
class Run:
    latencies: list[float]
    seconds: float
    errors: int
    bytes: int
    statuses: dict = field(default_factory=dict)
    client_cpu: float = 0.0  # CPU seconds (user + system) the load generator spent on the line
    note: str = ""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def client_cpu_text(self) -> str:
        sent = len(self.latencies) + self.errors
        if not sent or not self.seconds:
            return ""
        return (f"client CPU per request {self.client_cpu / sent * 1000:.2f} ms "
                f"({self.client_cpu / self.seconds:.2f} cores)")


def load(ports: list[int], paths: list[str], headers: dict[str, str], requests: int, max_s: float) -> Run:
    """``requests`` GETs (cycling through ``paths``) by CONCURRENCY threads, round-robin over ``ports``,
    stopping at ``max_s`` seconds; the latency of each answered request in ms."""
    lock = threading.Lock()
    state = {"next": 0, "errors": 0, "bytes": 0}
    statuses: dict = {}
    lat: list[float] = []
    deadline = time.perf_counter() + max_s

    def worker(k: int) -> None:
        conns = {p: http.client.HTTPConnection("127.0.0.1", p, timeout=30) for p in ports}
        mine: list[float] = []
        while time.perf_counter() < deadline:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= requests:
                break
            port = ports[i % len(ports)]
            t = time.perf_counter()
            try:
                conns[port].request("GET", paths[(i * 7 + k) % len(paths)], headers=headers)
                resp = conns[port].getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException):
                conns[port].close()
                conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    state["errors"] += 1
                    statuses["conn"] = statuses.get("conn", 0) + 1
                continue
            ms = (time.perf_counter() - t) * 1000
            if resp.status != 200:
                with lock:
                    state["errors"] += 1
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                    code = re.search(rb'"code":"([^"]+)"|<code>([A-Z][A-Za-z0-9._-]+)</code>', body)
                    if code:
                        key = (code.group(1) or code.group(2)).decode()
                        REFUSALS[key] = REFUSALS.get(key, 0) + 1
                continue
            mine.append(ms)
            with lock:
                state["bytes"] += len(body)
        with lock:
            lat.extend(mine)
        for c in conns.values():
            c.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CONCURRENCY)]
    usage = resource.getrusage(resource.RUSAGE_SELF)  # the whole process: all client threads, GIL and parsing
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return Run(lat, seconds, state["errors"], state["bytes"], statuses, cpu)


def measure(ports: list[int], paths: list[str], headers: dict[str, str], requests: int, max_s: float) -> Run:
    """A measured line, by the client --client names (warm-ups always use the Python client)."""
    if CLIENT["kind"] == "wrk":
        return load_wrk(ports, paths, headers, requests, max_s)
    return load(ports, paths, headers, requests, max_s)


def wrk_check() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("--client wrk: wrk is not installed (Debian: apt-get install wrk)")


def load_wrk(ports: list[int], paths: list[str], headers: dict[str, str], requests: int, max_s: float) -> Run:
    """The line by wrk: one process per port (1 thread, WRK_CONNECTIONS keep-alive connections), each cycling
    through its half of ``paths`` (every other one, as the round-robin sends them) with ``headers``. wrk has no
    request bound, only a duration: the Lua script stops each after its share of ``requests`` answers and prints
    "stop", and we interrupt it (SIGINT), else it ends at ``max_s``. Latencies: the two wrk histograms merged
    (exact percentiles over both); rate: the two processes' rates summed; client CPU: wrk's own, to "stop"."""
    work = Path(tempfile.mkdtemp(prefix="hsar-bench-wrk-"))
    share = -(-requests // len(ports))
    procs, seen, errs = [], [], []
    try:
        for j, port in enumerate(ports):
            part = work / f"paths-{j}.txt"
            part.write_text("\n".join(paths[j::len(ports)] or paths) + "\n", "ascii")
            cmd = ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{max(1, round(max_s))}s", "--timeout", "30s",
                   "-s", str(WRK_LUA)]
            for key, value in headers.items():
                cmd += ["-H", f"{key}: {value}"]
            cmd += [f"http://127.0.0.1:{port}", "--", str(part), str(share)]
            errs.append(tempfile.TemporaryFile())  # noqa: SIM115 - read after wrk ends; a pipe could fill
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errs[-1], text=True))
            seen.append({})

        def read(proc: subprocess.Popen, got: dict) -> None:
            for line in proc.stdout:
                now = time.perf_counter()
                word, _, clock = line.strip().partition(" ")
                if word == "start":
                    got["start"], got["cpu0"] = now, float(clock)
                elif word in ("stop", "end") and "end" not in got:
                    got["end"], got["cpu"] = now, float(clock)
                    if word == "stop":  # wrk's main thread sleeps to the end of -d: wake it
                        proc.send_signal(signal.SIGINT)
                elif word.startswith("{"):
                    got["json"] = json.loads(line)

        readers = [threading.Thread(target=read, args=(p, g)) for p, g in zip(procs, seen, strict=True)]
        for th in readers:
            th.start()
        for proc, got in zip(procs, seen, strict=True):
            deadline = time.monotonic() + max_s + 120
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    proc.kill()
                elif "end" in got and time.perf_counter() - got.get("sigint", got["end"]) > 5:
                    got["sigint"] = time.perf_counter()  # a SIGINT before wrk's main thread slept: again
                    proc.send_signal(signal.SIGINT)
                time.sleep(0.05)
        for th in readers:
            th.join()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        shutil.rmtree(work, ignore_errors=True)
    lat: list[float] = []
    errors, nbytes, rate, cpu = 0, 0, 0.0, 0.0
    statuses: dict = {}
    corrected_p95 = []
    for proc, got, err in zip(procs, seen, errs, strict=True):
        err.seek(0)
        told = err.read().decode().strip()
        err.close()
        if "json" not in got:
            for other in errs:
                other.close()
            raise SystemExit(f"wrk gave no result (exit {proc.returncode}): {told}")
        out = got["json"]
        corrected_p95.append(out["p95_us"] / 1000)
        raw = uncorrect({int(us): n for us, n in out["histogram"].items()}, out["duration_us"], out["requests"])
        if sum(raw.values()) != out["requests"] - out["errors"]["timeout"]:
            raise SystemExit(f"wrk's histogram: {sum(raw.values())} latencies once its coordinated-omission "
                             f"samples are taken out, for {out['requests']} answers")
        for us, count in raw.items():
            lat += [us / 1000] * count
        for pair in out["non200_statuses"].split():
            status, count = pair.split("=")
            statuses[int(status)] = statuses.get(int(status), 0) + int(count)
        sockets = {k: v for k, v in out["errors"].items() if k != "status" and v}
        for kind, count in sockets.items():
            statuses[kind] = statuses.get(kind, 0) + count
        errors += out["non200"] + sum(sockets.values())
        nbytes += out["bytes"]
        elapsed = got["end"] - got["start"]
        rate += out["requests"] / elapsed if elapsed > 0 else 0.0
        cpu += got["cpu"] - got["cpu0"]
    answered = len(lat)
    return Run(lat, answered / rate if rate else 0.0, errors, nbytes, statuses, cpu,
               note=f"wrk's own p95 (coordinated-omission corrected; worse of the two) {max(corrected_p95):.1f} ms")


def uncorrect(hist: dict[int, int], duration_us: int, requests: int) -> dict[int, int]:
    """The latencies wrk measured, from the histogram its ``done()`` sees: wrk 4 adds, for every latency n >= 2E
    (E = duration / (requests / connections), integer arithmetic), the samples n - E, n - 2E, ... down to
    above E (its stats_correct). Undone from the top down: what sits at m > E, less what was added to it from
    m + E, m + 2E, ... (already uncorrected), is what was measured."""
    per_conn = requests // WRK_CONNECTIONS
    step = duration_us // per_conn if per_conn else 0
    if step <= 0:
        return dict(hist)
    top = max(hist, default=0)
    raw: dict[int, int] = {}
    for m in sorted(hist, reverse=True):
        added = sum(raw.get(n, 0) for n in range(m + step, top + 1, step)) if m > step else 0
        if hist[m] - added > 0:
            raw[m] = hist[m] - added
    return raw


# -- the library directly (the peer) ------------------------------------------------------------------------


def _pool(call, reqs: list, threads: int, max_s: float) -> tuple[int, float]:
    """``call(r)`` for each of ``reqs`` by ``threads`` threads (each starting at its own place), until all are
    done or ``max_s`` seconds pass; (calls done, seconds)."""
    lock = threading.Lock()
    counter = {"next": 0, "done": 0}
    deadline = time.perf_counter() + max_s

    def worker(k: int) -> None:
        while time.perf_counter() < deadline:
            with lock:
                i = counter["next"]
                counter["next"] += 1
            if i >= len(reqs):
                break
            call(reqs[(i * 7 + k) % len(reqs)])
            with lock:
                counter["done"] += 1

    start = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return counter["done"], time.perf_counter() - start


def _direct_child(reqs: list[dict], threads: int, max_s: float, conn, home: str) -> None:
    from repository.home import Repository
    from repository.services import search as service

    repo = Repository.open(home)
    service.search(repo, SearchRequest(**reqs[0]))  # open the engine once, as a long-lived caller would
    done, seconds = _pool(lambda r: service.search(repo, SearchRequest(**r)), reqs, threads, max_s)
    conn.send((done, seconds, vm(os.getpid(), "VmHWM:")))
    conn.close()


def _wsgi_child(paths: list[str], threads: int, max_s: float, conn, home: str, token: str) -> None:
    """The web application ``hsar serve`` runs, called as a WSGI application in this process: the request
    as waitress would hand it over (bearer token, query string), the body read whole; no socket, no HTTP
    server. What it answers is the most any server could make of this application."""
    import io

    from repository.web import create_app

    app = create_app(home, {"HSAR_WARM": False})
    failed: list[str] = []

    def call(path: str) -> None:
        route, _, query = path.partition("?")
        environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": route, "QUERY_STRING": query,
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": "127.0.0.1",
                   "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
                   "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
                   "wsgi.run_once": False}
        status: list[str] = []
        body = app(environ, lambda s, h, e=None: status.append(s))
        try:
            b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        if not status[0].startswith("200"):
            failed.append(status[0])

    for path in paths[:16]:  # warm: the engine, jieba, the token
        call(path)
    failed.clear()
    done, seconds = _pool(call, paths, threads, max_s)
    conn.send((done - len(failed), seconds, vm(os.getpid(), "VmHWM:")))
    conn.close()


def in_two(target, parts: list[list], max_s: float, *extra) -> tuple[float, int]:
    """``target(part, threads, max_s, conn, *extra)`` in two forked processes, one part of the requests and
    CONCURRENCY/2 threads each: calls per second of both together, and the larger peak memory."""
    ctx = mp.get_context("fork")
    pipes, procs = [], []
    for part in parts:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=target, args=(part, CONCURRENCY // 2, max_s, child, *extra))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    results = [p.recv() for p in pipes]
    for proc in procs:
        proc.join()
    return sum(r[0] / r[1] for r in results), max(r[2] for r in results)


def direct(home: Path, reqs: list[dict], max_s: float) -> tuple[float, int]:
    """Queries per second of the search service in 2 processes x 4 threads; and their peak memory."""
    return in_two(_direct_child, [reqs[0::2], reqs[1::2]], max_s, str(home))


def in_process(home: Path, paths: list[str], token: str, max_s: float) -> tuple[float, int]:
    """Answers per second of the search API called as a WSGI application (no server) in 2 processes x 4
    threads (:func:`_wsgi_child`); and their peak memory."""
    return in_two(_wsgi_child, [paths[0::2], paths[1::2]], max_s, str(home), token)


# -- the run ------------------------------------------------------------------------------------------------


def first_load(port: int, cookie: str, path: str) -> tuple[int, int, list[str]]:
    """Bytes (headers + bodies) of the page at ``path`` and every stylesheet, script and image it names."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(p: str) -> tuple[int, bytes]:
        conn.request("GET", p, headers={"Cookie": cookie, "Accept-Encoding": "gzip, deflate, br"})
        resp = conn.getresponse()
        body = resp.read()
        head = sum(len(k) + len(v) + 4 for k, v in resp.getheaders()) + 17
        return head + len(body), body

    total, body = get(path)
    html = body.decode("utf-8", "replace")
    assets = sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html)))
    for asset in assets:
        total += get(asset)[0]
    conn.close()
    return total, len(body), assets


def report_line(label: str, run: Run, goal: float | None) -> None:
    failed = CLIENT["kind"] == "wrk" and run.errors
    if failed:  # wrk's latencies count every answer, refusals too: the line means nothing
        FAILED.append(label)
        print(f"{label:34} FAILED: {run.errors} answers not 200 or lost {run.statuses} (of "
              f"{len(run.latencies)} answered)")
        return
    if not run.latencies:
        print(f"{label:34} no answers ({run.errors} errors)")
        return
    p50, p95 = pct(run.latencies, 50), pct(run.latencies, 95)
    verdict = "" if goal is None else f"  goal p95 <= {goal:.0f} ms: {'met' if p95 <= goal else f'MISSED by {p95 - goal:,.0f} ms ({p95 / goal:.1f}x)'}"
    print(f"{label:34} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {run.rate:7.1f} req/s  n={len(run.latencies)}"
          f"{f' errors={run.statuses}' if run.errors else ''}{verdict}")
    print(f"{'':34} {run.client_cpu_text()}{f'; {run.note}' if run.note else ''}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archives", type=int, default=200_000)
    ap.add_argument("--quick", action="store_true", help="5,000 archives, fewer requests (a smoke run)")
    ap.add_argument("--requests", type=int, default=400, help="requests per measured class (at most)")
    ap.add_argument("--seconds", type=float, default=20.0, help="time bound of each measured class")
    ap.add_argument("--threads", type=int, default=4, help="waitress threads per server process")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary directory, removed after")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the home a previous run left in --workdir (built.json beside it), skipping the build")
    ap.add_argument("--build-only", action="store_true", help="build the home in --workdir and stop")
    ap.add_argument("--pages-only", action="store_true",
                    help="measure the archive and statistics pages only (no searches, no throughput)")
    ap.add_argument("--settle", type=float, default=300.0,
                    help="wait at most this many seconds for the servers' start-up work (census) to end before "
                         "measuring; 0 measures at once")
    ap.add_argument("--result-cache", type=int, default=None,
                    help="search.result_cache for the servers and the direct processes (0: every search uncached)")
    ap.add_argument("--client", choices=("python", "wrk"), default="python",
                    help="load generator of the measured lines: python (threads, http.client keep-alive, on the "
                         "servers' cores, its CPU shown per line) or wrk (one per server, 4 connections each, "
                         f"Lua script {WRK_LUA.name}; Debian: apt-get install wrk)")
    args = ap.parse_args(argv)
    CLIENT["kind"] = args.client
    if args.client == "wrk" and not args.build_only:
        wrk_check()
    if args.result_cache is not None:  # inherited by both servers and the direct processes
        os.environ["HSAR_SEARCH_RESULT_CACHE"] = str(args.result_cache)
    if args.quick:
        args.archives, args.requests, args.seconds = 5_000, 120, 8.0
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hsar-bench-web-"))
    home = work / "home"
    saved = work / "built.json"
    reuse = args.reuse and args.workdir is not None and saved.is_file() and home.is_dir()
    if home.exists() and not reuse:
        shutil.rmtree(home)
    servers: list[tuple[subprocess.Popen, int]] = []
    try:
        t0 = time.perf_counter()
        if reuse:
            built, tokens, build_s = load_built(saved)
            print(f"(reusing the home in {work}, built earlier)")
        else:
            built = build(home, args.archives, args.seed)
            for user, role, division in (("bench-admin", "admin", "000000"),
                                         ("bench-district", "archivist", "320102")):
                hsar(home, "user", "add", user, "--role", role, "--division", division, "--password-stdin",
                     stdin=PASSWORD + "\n")
            tokens = {u: hsar(home, "user", "token", u).splitlines()[-1] for u in ("bench-admin", "bench-district")}
            build_s = time.perf_counter() - t0
            save_built(saved, built, tokens, build_s)
        if args.build_only:
            return 0
        load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"== {args.archives:,} archives; build {build_s:.1f} s (init {built.seconds['init']:.1f} s; archives "
              f"{built.seconds['archives']:.1f} s = {args.archives / built.seconds['archives']:,.0f}/s, of which "
              f"catalogue writes {built.seconds['catalogue']:.1f} s, engine add+commit {built.seconds['engine']:.1f} s,"
              f" the rest generation and jieba); {os.cpu_count()} cores, load average {load_avg}")
        index_mb = sum(p.stat().st_size for p in (home / "index").rglob("*") if p.is_file()) / 1e6
        catalog_mb = (home / "catalog.sqlite").stat().st_size / 1e6
        print(f"   catalogue {catalog_mb:,.0f} MB, index {index_mb:,.0f} MB; search.result_cache "
              f"{os.environ.get('HSAR_SEARCH_RESULT_CACHE', 'default (256)')}")

        servers = start_servers(home, 2, args.threads)
        if args.settle > 0:
            print(f"   servers settled (start-up census done) after {settle(servers, args.settle):.0f} s")
        ports = [port for _, port in servers]
        cookie = login(ports[0], "bench-admin")
        bearer = {"Authorization": f"Bearer {tokens['bench-admin']}"}
        district = {"Authorization": f"Bearer {tokens['bench-district']}"}
        page = {"Cookie": cookie}
        rng = random.Random(args.seed)
        n = max(args.requests, 50)
        q = urllib.parse.quote
        classes: dict[str, list[dict]] = {
            "id": [{"query": rng.choice(built.ids)} for _ in range(n)],
            "name": [{"query": rng.choice(built.names)} for _ in range(n)],
            "division+year": [{"query": "", "filters": {"division": d, "year": str(y)}}
                              for d, y in (rng.choice(built.div_years) for _ in range(n))],
            "broad+facets": [{"query": rng.choice(BROAD)} for _ in range(n)],
        }

        def api_path(r: dict) -> str:
            params = {"q": r["query"], **r.get("filters", {})}
            return "/api/v1/search?" + urllib.parse.urlencode({k: v for k, v in params.items() if v})

        def page_path(r: dict) -> str:
            params = {"q": r["query"], **r.get("filters", {})}
            return "/search?" + urllib.parse.urlencode({k: v for k, v in params.items() if v})

        if not args.pages_only:  # the searches and the throughput
            # warm both servers (engine, templates, jieba) before anything is timed
            load(ports, [api_path(r) for r in classes["broad+facets"][:8]], bearer, 16, 60)
            load(ports, [page_path(r) for r in classes["broad+facets"][:8]], page, 16, 60)
            goals = {"id": 50, "name": 50, "division+year": 50, "broad+facets": 150}
            print(f"\n-- search, {CONCURRENCY} concurrent clients, 2 server processes x {args.threads} threads "
                  f"(at most {args.requests} requests or {args.seconds:.0f} s per line)")
            if args.client == "wrk":
                print(f"   client: wrk, one per server (1 thread, {WRK_CONNECTIONS} connections each), each stopped by "
                      "its Lua script after half the line's requests (wrk itself bounds only time); p50/p95 of "
                      "both wrk histograms merged, req/s summed")
            else:
                print("   client: Python threads (http.client keep-alive) in this process, on the servers' cores")
            runs: dict[str, Run] = {}
            for cls, reqs in classes.items():
                runs[cls] = measure(ports, [api_path(r) for r in reqs], bearer, args.requests, args.seconds)
                report_line(f"API  {cls} (admin)", runs[cls], goals[cls])
            report_line("API  broad+facets (district)",
                        measure(ports, [api_path(r) for r in classes["broad+facets"]], district, args.requests,
                             args.seconds), 150)
            for cls, reqs in classes.items():
                report_line(f"page {cls} (admin)",
                            measure(ports, [page_path(r) for r in reqs], page, args.requests, args.seconds),
                            goals[cls])

            # the web layer's cost: the same mix, over HTTP and by the search service, 8 at a time in 2 processes
            mix = [r for reqs in classes.values() for r in reqs]
            random.Random(args.seed + 2).shuffle(mix)
            mix_reqs = [{**r, "facets": FACETS} for r in mix]
            big = len(mix) * 4
            mix_paths = [api_path(r) for r in mix]
            api_run = measure(ports, mix_paths, bearer, big, args.seconds)
            direct_qps, direct_mem = direct(home, mix_reqs * 4, args.seconds)
            wsgi_qps, _ = in_process(home, mix_paths * 4, tokens["bench-admin"], args.seconds)
            ratio = api_run.rate / direct_qps if direct_qps else 0.0
            print(f"\n-- throughput, the mix of the four classes ({len(mix)} queries, facets on), {args.seconds:.0f} s each")
            if CLIENT["kind"] == "wrk" and api_run.errors:
                FAILED.append("throughput mix")
                print(f"API over HTTP: FAILED, {api_run.errors} answers not 200 or lost {api_run.statuses}")
            print(f"API over HTTP (2 x hsar serve)       {api_run.rate:8.1f} queries/s  (p95 {pct(api_run.latencies, 95):.1f} ms;"
                  f" {api_run.client_cpu_text()})")
            print(f"search service direct (2 processes)  {direct_qps:8.1f} queries/s  (peak memory {direct_mem / 2**20:,.0f} MiB"
                  " per process)")
            print(f"ratio API / direct                   {ratio:8.3f}   goal >= 0.8: "
                  f"{'met' if ratio >= 0.8 else f'MISSED by {0.8 - ratio:.3f}'}")
            print(f"API in process, no server            {wsgi_qps:8.1f} queries/s  (the same app called as WSGI, 2 "
                  f"processes x {CONCURRENCY // 2} threads: no socket, no HTTP; {wsgi_qps / direct_qps if direct_qps else 0:.3f}"
                  " of direct, the most any server could reach with this app)")

        print("\n-- pages")
        if args.pages_only:  # warm both servers as the searches would have
            load(ports, [f"/archives/{q(a)}" for a in built.archives[:8]], page, 16, 60)
        arch = measure(ports, [f"/archives/{q(a)}" for a in built.archives], page, args.requests, args.seconds)
        report_line("archive page (admin)", arch, 50)
        stats_times, not_current = [], 0
        conn = http.client.HTTPConnection("127.0.0.1", ports[0], timeout=120)
        for _ in range(5):
            t = time.perf_counter()
            conn.request("GET", "/stats", headers=page)
            resp = conn.getresponse()
            body = resp.read()
            stats_times.append((time.perf_counter() - t) * 1000)
            if resp.status != 200:
                print(f"   statistics page: HTTP {resp.status}")
            # a page answered while the census is still counting shows earlier figures or none: say so
            not_current += b'id="stats-counting"' in body or b'id="stats-stale"' in body
        conn.close()
        if not_current:
            print(f"   statistics page: {not_current} of 5 answers showed figures still being counted")
        print(f"statistics page (sequential, 5)    first {stats_times[0]:.0f} ms, median "
              f"{sorted(stats_times)[2]:.0f} ms, max {max(stats_times):.0f} ms  goal <= 300 ms: "
              f"{'met' if max(stats_times) <= 300 else f'MISSED by {max(stats_times) - 300:,.0f} ms'}")
        total, html, assets = first_load(ports[1], cookie, page_path(classes["broad+facets"][0]))
        print(f"first load of the search page       {total / 1000:,.1f} KB (HTML {html / 1000:,.1f} KB + "
              f"{len(assets)} assets {', '.join(assets)})  goal <= 500 KB: "
              f"{'met' if total <= 500_000 else f'MISSED by {(total - 500_000) / 1000:,.0f} KB'}")
        print("\n-- server peak memory (VmHWM): " + ", ".join(
            f"port {port} {vm(proc.pid, 'VmHWM:') / 2**20:,.0f} MiB" for proc, port in servers))
        print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if REFUSALS:
            print(f"error codes of the non-200 answers: {REFUSALS} (the server logs no traceback; run one "
                  "server in-process with logging on to see them)")
        if FAILED:
            print(f"FAILED (wrk saw answers other than 200, or lost connections): {', '.join(FAILED)}")
            return 1
    finally:
        for proc, _ in servers:
            proc.terminate()
        for proc, _ in servers:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
