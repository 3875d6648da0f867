"""Search benchmark: Whoosh and Tantivy side by side over synthetic archives.

    .venv/bin/python bench/search.py --sizes 10000,50000,200000 --engines whoosh,tantivy

For each size: synthetic household and unit archives (Chinese names, resident IDs, estates, 5-15 items each,
three in ten items with born-digital text) are generated into a file (untimed), turned into search documents
once by ``build_documents`` (jieba in ``--workers`` processes; timed as "analysis") and streamed to a file;
then each engine, in a forked child process, indexes them (one commit)
and answers at least ``--queries`` queries per class:

- selective-id:   a full resident ID                     selective-name: a full name
- broad:          a common word (公共租赁住房, 申请书 ...)  faceted: a broad word + 5 facets
- scoped:         a broad word within a district or street (division roll-up)

Printed: analysis rate, index rate (docs/s), end-to-end rate, p50/p95 latency per class (ms, 20 hits per
page with highlights, as hsar search asks), index size and the peak memory each engine added, and the
Tantivy/Whoosh ratio. Goals at 200k archives: p95 <= 20 ms selective, <= 100 ms broad, >= 2,000 archives/s.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pickle
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repository import quiet_third_party_warnings  # noqa: E402

quiet_third_party_warnings(sys.argv[1:])  # pyHanko's DSA deprecation and the like: as the CLI does

from repository.divisions import default_tree  # noqa: E402
from repository.model import (  # noqa: E402
    CLASSES_BY_TYPE,
    INCOME_BANDS,
    MEMBER_RELATIONS,
    SECURITY_TYPES,
    SUBTYPES,
    Access,
    Archive,
    ArchiveType,
    Household,
    Item,
    Member,
    PackageType,
    PaperRef,
    Person,
    Retention,
    Shelf,
    Status,
    StatusChange,
    Unit,
    Volume,
)
from repository.search import SearchRequest, build_documents, open_engine  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜"
GIVEN = ("秀英", "桂英", "秀兰", "玉兰", "建国", "建华", "国强", "卫东", "德明", "志刚", "伟", "强", "磊", "军", "勇",
         "杰", "涛", "斌", "丽", "敏", "静", "芳", "娟", "艳", "红梅", "晓燕", "丽萍", "海燕", "浩然", "子轩", "宇航",
         "一鸣", "佳怡", "欣怡", "梓涵", "诗涵", "雨桐", "思琪", "海波", "志强", "晓东", "建平", "春梅", "雪梅")
ESTATES = tuple(a + b for a in ("幸福", "阳光", "翠苑", "金陵", "紫金", "锦绣", "和平", "春江", "梅园", "龙江",
                                "仙林", "青年", "安居", "康居", "馨苑", "怡景", "百合", "银杏", "丁家", "尧化")
                for b in ("家园", "花园", "小区", "新村", "公寓", "雅居", "嘉园", "名苑", "新城", "佳园"))
TEMPLATES = {
    "application": "申请人{name}，身份证号{rid}，家庭成员{n}人，家庭人均月收入{inc}元，现居住于{address}，"
                   "住房困难，申请{security}。",
    "review": "经审核，{name}家庭符合{security}保障条件，已在{district}公示{days}天，公示期内无异议。",
    "provision": "{name}家庭经轮候配租{estate}{b}栋{r}室，建筑面积{area}平方米，月租金{rent}元。",
    "dynamic": "{year}年度复核：{name}家庭人均月收入{inc}元，住房情况无变化，{result}。",
    "basic": "{estate}{b}栋{r}室，户型{layout}，建筑面积{area}平方米，产权归属政府。",
    "use": "承租人{name}，租金标准每月每平方米{price}元，{year}年租金已按月收缴。",
}
BROAD = ("公共租赁住房", "申请书", "年度复核", "租金", "住房", "审核", "家庭", "保障", "廉租住房", "租赁合同")
FACETS = ("status", "security", "division", "year", "class")
_CHECK, _WEIGHTS = "10X98765432", (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random, region: str) -> str:
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(60 * 365))
    first = f"{region}{birth:%Y%m%d}{rng.randrange(1, 1000):03d}"
    return first + _CHECK[sum(int(d) * w for d, w in zip(first, _WEIGHTS, strict=True)) % 11]


@dataclass
class Samples:
    """Values the queries are drawn from, collected while generating."""

    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


class Generator:
    """Deterministic synthetic archives over the bundled division tree."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        tree = default_tree()
        self.streets = [d.code for d in tree if d.level == "street"]
        self.names = {d.code: d.name for d in tree}
        self.samples = Samples()

    def person(self, region: str) -> Person:
        rng = self.rng
        p = Person(rng.choice(SURNAMES) + rng.choice(GIVEN), resident_id(rng, region))
        if rng.random() < 0.02:
            self.samples.ids.append(p.resident_id)
            self.samples.names.append(p.name)
        return p

    def text(self, cls: str, ctx: dict) -> str:
        rng = self.rng
        return TEMPLATES[cls].format(**ctx, n=rng.randint(1, 5), inc=rng.randrange(600, 3000, 10),
                                     days=rng.choice((7, 10, 15)), area=rng.randrange(35, 90),
                                     rent=rng.randrange(300, 1500, 10), price=rng.choice((8, 10, 12, 15)),
                                     result=rng.choice(("继续保障", "调整租金", "退出保障")),
                                     layout=rng.choice(("一室一厅", "两室一厅", "两室两厅")))

    def items(self, kind: ArchiveType, year: int, ctx: dict, volume: Volume, texts: dict) -> tuple[Item, ...]:
        rng, out = self.rng, []
        for n in range(1, rng.randint(5, 15) + 1):
            cls = rng.choice(CLASSES_BY_TYPE[kind])
            subtype, day = rng.choice(SUBTYPES[cls]), date(year, 1, 1) + timedelta(days=rng.randrange(4 * 365))
            title = f"{ctx['name']}{subtype}" if rng.random() < 0.5 else f"{day.year}年{subtype}"
            files = (f"data/{n:03d}.pdf",)
            if rng.random() < 0.3:
                texts[files[0]] = self.text(cls.value, {**ctx, "year": day.year})
            out.append(Item(n, cls, subtype, title, day, rng.randint(1, 6), files,
                            PaperRef(volume.catalogue, volume.number, n, 2 * n - 1, 2 * n, volume.box, volume.shelf)))
        return tuple(out)

    def archive(self, n: int) -> tuple[Archive, str, dict[str, str]]:
        rng = self.rng
        street = rng.choice(self.streets)
        district = self.names[street[:6]]
        kind = ArchiveType.HOUSEHOLD if rng.random() < 0.8 else ArchiveType.UNIT
        year, estate, b, r = rng.randint(2010, 2024), rng.choice(ESTATES), rng.randint(1, 30), rng.randint(101, 2404)
        security = rng.choice(SECURITY_TYPES)
        address = f"南京市{district}{estate}{b}栋{r}室"
        retention = rng.choice(tuple(Retention))
        volume = Volume("001", f"{n:06d}", f"B{n // 4:05d}",
                        Shelf(rng.choice("ABCD"), rng.randint(1, 20), rng.randint(1, 10), rng.randint(1, 6)))
        head = self.person(street[:6])
        ctx = {"name": head.name, "rid": head.resident_id, "address": address, "security": security,
               "district": district, "estate": estate, "b": b, "r": r}
        texts: dict[str, str] = {}
        items = self.items(kind, year, ctx, volume, texts)
        common = dict(division=street, institution="南京市住房保障和房产局", fonds="A001", year=year,
                      retention=retention, access=Access.RESTRICTED, start=date(year, 1, 1), end=None,
                      volume=volume, items=items)
        if kind is ArchiveType.HOUSEHOLD:
            people = [self.person(street[:6]) for _ in range(rng.randint(0, 3))]
            members = tuple(Member(p.name, p.resident_id, rng.choice(MEMBER_RELATIONS)) for p in people)
            status = StatusChange(rng.choice(tuple(Status)), date(year, 6, 1))
            hh = Household(head, members, address, rng.choice(INCOME_BANDS), "无房", security, (status,))
            return Archive(f"HH-{street}-{n:07d}", kind, PackageType.HOUSEHOLD_SIP, f"{head.name}户住房保障档案",
                           reference_code=f"A001-ZF·{year}-{retention.value}-{n:07d}", household=hh,
                           **common), "v1", texts
        unit = Unit(f"{estate}{security}项目", estate, address, str(b), str(rng.randint(1, 4)), str(r),
                    "两室一厅", 58.0, "政府投资建设", "政府产权", security)
        return Archive(f"UN-{street}-{n:07d}", kind, PackageType.UNIT_SIP, f"{estate}{b}栋{r}室房源档案",
                       reference_code=f"A001-FY·{year}-{retention.value}-{n:07d}", unit=unit,
                       **common), "v1", texts


def write_archives(size: int, seed: int, path: Path) -> Samples:
    """Generate ``size`` archives into ``path`` (pickled batches); untimed."""
    gen = Generator(seed)
    with open(path, "wb") as fh:
        for start in range(0, size, 2000):
            batch = [gen.archive(n) for n in range(start, min(size, start + 2000))]
            pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return gen.samples


def build_docs(archives: Path, workers: int, path: Path) -> float:
    """Analyse the archives of ``archives`` into search documents in ``path``; returns seconds taken."""
    start = time.perf_counter()
    sources = (a for batch in read_docs(archives) for a in batch)
    batch: list = []
    with open(path, "wb") as fh:
        for doc in build_documents(sources, workers=workers, chunksize=200):
            batch.append(doc)
            if len(batch) == 2000:
                pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
                batch = []
        if batch:
            pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return time.perf_counter() - start


def read_docs(path: Path) -> Iterator[list]:
    with open(path, "rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return


def queries(samples: Samples, n: int, seed: int) -> dict[str, list[SearchRequest]]:
    rng = random.Random(seed)
    tree = default_tree()
    districts = [d.code for d in tree if d.level == "district"]
    streets = [d.code for d in tree if d.level == "street"]
    return {
        "selective-id": [SearchRequest(rng.choice(samples.ids)) for _ in range(n)],
        "selective-name": [SearchRequest(rng.choice(samples.names)) for _ in range(n)],
        "broad": [SearchRequest(rng.choice(BROAD)) for _ in range(n)],
        "faceted": [SearchRequest(rng.choice(BROAD), facets=FACETS) for _ in range(n)],
        "scoped": [SearchRequest(rng.choice(BROAD), division=rng.choice(districts + streets)) for _ in range(n)],
    }


def _rss(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_engine(kind: str, docs: Path, index_dir: Path, qs: dict[str, list[SearchRequest]], conn) -> None:
    """In a child process: index everything, then time every query; sends a result dict."""
    rss0 = _rss("VmRSS:")
    engine = open_engine(kind, index_dir, rebuild=True)
    spent, count = 0.0, 0
    for batch in read_docs(docs):
        t = time.perf_counter()
        count += engine.add(batch)
        spent += time.perf_counter() - t
    t = time.perf_counter()
    engine.commit()
    spent += time.perf_counter() - t
    engine.search(SearchRequest(BROAD[0], facets=FACETS))  # warm caches (Whoosh builds its facet cache)
    latencies: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    for cls, requests in qs.items():
        for req in requests:
            t = time.perf_counter()
            result = engine.search(req)
            latencies.setdefault(cls, []).append((time.perf_counter() - t) * 1000)
            totals[cls] = totals.get(cls, 0) + result.total
    engine.close()
    conn.send({"count": count, "index_s": spent, "size": _dir_size(index_dir / kind),
               "mem": _rss("VmHWM:") - rss0, "lat": latencies, "hits": totals})
    conn.close()


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def report(size: int, analysis_s: float, results: dict[str, dict]) -> None:
    kinds = list(results)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n== {size:,} archives; analysis (jieba) {size / analysis_s:,.0f} archives/s ({analysis_s:.1f} s);"
          f" load average {load} on {os.cpu_count()} cores")
    print(f"{'':28}" + "".join(f"{k:>22}" for k in kinds) + ("    tantivy/whoosh" if len(kinds) == 2 else ""))

    def row(label: str, values: list[float], fmt: str) -> None:
        ratio = f"{values[1] / values[0]:>18.2f}" if len(values) == 2 and values[0] else ""
        print(f"{label:28}" + "".join(f"{v:>22{fmt}}" for v in values) + ratio)

    row("index docs/s (engine)", [size / r["index_s"] for r in results.values()], ",.0f")
    row("end-to-end docs/s", [size / (analysis_s + r["index_s"]) for r in results.values()], ",.0f")
    row("index size MB", [r["size"] / 1e6 for r in results.values()], ",.0f")
    row("peak memory added MB", [r["mem"] / 1e6 for r in results.values()], ",.0f")
    for cls in next(iter(results.values()))["lat"]:
        for p in (50, 95):
            row(f"{cls} p{p} ms", [pct(r["lat"][cls], p) for r in results.values()], ",.1f")
    for cls in next(iter(results.values()))["hits"]:
        n = len(next(iter(results.values()))["lat"][cls])
        row(f"{cls} mean hits", [r["hits"][cls] / n for r in results.values()], ",.0f")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,50000", help="comma-separated archive counts")
    ap.add_argument("--engines", default="whoosh,tantivy")
    ap.add_argument("--queries", type=int, default=100, help="queries per class")
    ap.add_argument("--workers", type=int, default=2, help="jieba processes")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary directory, removed after")
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hsar-bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("fork")
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            docs, archives = work / f"docs-{size}.pickle", work / f"archives-{size}.pickle"
            samples = write_archives(size, args.seed, archives)
            analysis_s = build_docs(archives, args.workers, docs)
            archives.unlink()
            qs = queries(samples, args.queries, args.seed)
            results = {}
            for kind in args.engines.split(","):
                parent, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=run_engine, args=(kind, docs, work / f"index-{size}", qs, child))
                proc.start()
                results[kind] = parent.recv()
                proc.join()
                shutil.rmtree(work / f"index-{size}" / kind, ignore_errors=True)
            report(size, analysis_s, results)
            docs.unlink()
            sys.stdout.flush()
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
