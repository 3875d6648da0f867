"""``hsar demo-data``: realistic, deterministic demo SIPs of one city's housing-security archives.

The city is the bundled division tree (南京市, its districts and streets). A seed fixes everything: people
(:mod:`.people`), estates, units, the timeline of each household (application, review, publicity,
waiting list, provision, annual reviews, exit), the documents (:mod:`.forms`, :mod:`.docs`) and the
bagging dates, so the same seed gives byte-identical SIPs. Nothing reads the clock.

Output, in ingest order (folder names sort that way)::

    OUT/0001-unit-un-320102-0001/                 unit archives (房源档案), first: households link to them
    OUT/0007-household-hh-320104-2019-0001/       household archives (住房保障对象档案)
    OUT/0101-supplement-hh-320104-2019-0001-v2/   supplements (annual reviews, rent-subsidy notices, an exit)
    OUT/defects/<CODE>-<name>/                    with ``defects``: one invalid SIP per defect class
    OUT/demo_manifest.json                        every SIP with its kind, archive and expected code
"""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date
from pathlib import Path
from typing import Any

from ..divisions import default_tree
from ..errors import IngestError
from ..model import MaterialClass, PackageType, Relation, SupplementOf
from ..sip.build import write_sip
from .archives import (
    Counters,
    HouseholdPlan,
    Planned,
    allocate,
    days,
    household_model,
    make_estates,
    make_unit,
    manifest_entry,
    name_households,
    new_household,
    plan_household,
    plan_unit,
    render_items,
    volume_for,
)
from .forms import HOUSEHOLD_FORMS, UnitFacts
from .unit_forms import UNIT_FORMS

LAST_REVIEW_YEAR = 2024  # the demo's "now": no annual review after this year


# ----- supplements (补充材料): annual reviews, rent-subsidy notices, an exit -----

def _supplement(original: Planned, version: int, first: int, specs: list, c: Counters, reason: str,
                rng: random.Random, **changes: Any) -> Planned:  # noqa: ANN401 - Archive fields
    """A supplement SIP: a separately filed volume recording the original volume, items numbered on."""
    a = original.archive
    volume = volume_for(c, a.volume.catalogue, min(s[3] for s in specs).year, original=a.volume.number)
    items, payload = render_items(specs, volume, first)
    fields: dict[str, Any] = {"relations": ()} | changes
    archive = dataclasses.replace(a, package_type=PackageType.SUPPLEMENT_SIP, volume=volume, items=items,
                                  supplement_of=SupplementOf(a.identifier, a.volume.number, reason), **fields)
    return Planned("supplement", archive, payload, max(i.date for i in items) + days(rng, 3, 20), version)


def _review_specs(h: HouseholdPlan, year: int, rng: random.Random) -> list:
    f, start = h.facts, h.start or h.facts.applied
    when = date(year, start.month, min(start.day, 28)) + days(rng, 0, 25)
    plan = [(MaterialClass.DYNAMIC, "年度复核表", f"{year}年度复核表", when),
            (MaterialClass.APPLICATION, "收入证明", f"{year}年度家庭收入证明", when - days(rng, 3, 15))]
    if f.security_type == "租金补贴":
        plan.append((MaterialClass.PROVISION, "租金补贴发放通知书", f"{year}年度租金补贴发放通知书",
                     when + days(rng, 5, 15)))
    return [(cls, sub, title, d, HOUSEHOLD_FORMS[sub](f, d, rng)) for cls, sub, title, d in plan]


def _household_supplements(h: HouseholdPlan, c: Counters, seed: int, exits: bool) -> list[Planned]:
    """Annual reviews (with rent-subsidy notices for subsidy households) and, if ``exits``, the exit."""
    assert h.planned is not None and h.start is not None
    f = h.facts
    rng = random.Random(f"{seed}:{f.identifier}:supplements")
    found: list[Planned] = []
    number = max(i.number for i in h.planned.archive.items) + 1
    last_year = min(h.start.year + rng.choice((0, 1, 1, 2)), LAST_REVIEW_YEAR)
    for year in range(h.start.year + 1, last_year + 1):
        specs = _review_specs(h, year, rng)
        found.append(_supplement(h.planned, len(found) + 2, number, specs, c, f"{year}年度复核", rng))
        number += len(specs)
    if exits:
        last = max([h.start] + [p.archive.items[-1].date for p in found])
        decision = last + days(rng, 150, 300)
        specs = [(MaterialClass.DYNAMIC, "退出", "终止住房保障决定书", decision,
                  HOUSEHOLD_FORMS["退出"](f, decision, rng))]
        relations: tuple[Relation, ...] = ()
        if f.unit is not None:
            relations = (Relation("occupies", f.unit.identifier, h.start, decision + days(rng, 10, 30)),)
        found.append(_supplement(h.planned, len(found) + 2, number, specs, c, "家庭购买住房，终止保障", rng,
                                 household=household_model(h, exited=decision), relations=relations,
                                 end=decision))
    return found


def _unit_exit(unit: Planned, household: Planned, facts: UnitFacts, c: Counters, seed: int) -> Planned:
    """The unit's side of an exit: the move-out hand-over and the link's end."""
    occupies = household.archive.relations[0]
    assert occupies.end is not None
    rng = random.Random(f"{seed}:{unit.archive.identifier}:exit")
    specs = [(MaterialClass.USE, "退出交接", "退出交接单", occupies.end,
              UNIT_FORMS["退出交接"](facts, occupies.end, rng))]
    number = max(i.number for i in unit.archive.items) + 1
    link = Relation("occupiedBy", household.archive.identifier, occupies.start, occupies.end)
    return _supplement(unit, 2, number, specs, c, "承租家庭退出，房屋收回", rng, relations=(link,))


# ----- the whole demo -----

def plan_demo(*, households: int, units: int, seed: int) -> list[Planned]:
    """Every demo SIP, described and rendered in memory, in ingest order (folder names set)."""
    rng, tree, c = random.Random(seed), default_tree(), Counters()
    estates = sorted(make_estates(rng, tree, max(1, (units + 1) // 2)), key=lambda e: e["completed"]) if units else []
    unit_facts = [make_unit(rng, estates, c, k * len(estates) // max(units, 1)) for k in range(units)]
    people = sorted((new_household(rng, tree) for _ in range(households)), key=lambda h: h.facts.applied)
    name_households(people, c)
    tenants = allocate(rng, people, [u for u, _ in unit_facts])
    unit_plans = {}
    for u, division in unit_facts:
        tenant = tenants.get(u.identifier)
        unit_plans[u.identifier] = plan_unit(u, division, c, (tenant.facts, tenant.start) if tenant and tenant.start else None, seed)
    for h in people:
        h.planned = plan_household(h, c, seed)
    provided = [h for h in people if h.start is not None]
    leaving = rng.choice([h for h in provided if h.facts.unit] or provided) if provided else None
    supplements: list[Planned] = []
    for h in provided:
        found = _household_supplements(h, c, seed, exits=h is leaving)
        supplements += found
        if h is leaving and h.facts.unit is not None:
            supplements.append(_unit_exit(unit_plans[h.facts.unit.identifier], found[-1], h.facts.unit, c, seed))
    supplements.sort(key=lambda p: (p.bagging, p.archive.identifier, p.version))
    ordered = list(unit_plans.values()) + [h.planned for h in people if h.planned] + supplements
    _name_folders(ordered)
    return ordered


def _name_folders(plans: list[Planned]) -> None:
    originals = sum(1 for p in plans if p.kind != "supplement")
    width = max(4, len(str(len(plans) + 100)))
    first_supplement = (originals // 100 + 1) * 100 + 1
    seq = 0
    for p in plans:
        seq = max(seq + 1, first_supplement) if p.kind == "supplement" else seq + 1
        suffix = f"-v{p.version}" if p.kind == "supplement" else ""
        p.folder = f"{seq:0{width}d}-{p.kind}-{p.archive.identifier}{suffix}"


def write_demo_data(out: Path, *, households: int, units: int, seed: int, defects: bool = False) -> list[Path]:
    """Write the demo SIPs (and, with ``defects``, one invalid SIP per defect class) into ``out``.

    Returns the SIP paths in ingest order (defects last). ``out`` must be absent or empty (DEMO-EXISTS). With no
    households, no units and no defects the set is empty: ``out`` holds only ``demo_manifest.json``.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise IngestError(f"{out} exists and is not an empty folder", code="DEMO-EXISTS")
    if households < 0 or units < 0:
        raise IngestError("households and units cannot be negative", code="DEMO-USAGE")
    paths, entries = [], []
    plans = plan_demo(households=households, units=units, seed=seed)
    out.mkdir(parents=True, exist_ok=True)  # also for no SIPs at all: then a valid, empty set
    for p in plans:
        paths.append(write_sip(p.archive, p.payload, out / p.folder, source_organization=p.archive.institution,
                               bagging_date=p.bagging))
        entries.append(manifest_entry(p.folder, p.archive, kind=p.kind, version=p.version, truth=p.truth))
    if defects:
        from .defects import write_defects

        for path, entry in write_defects(out / "defects", seed=seed):
            paths.append(path)
            entries.append(entry)
    manifest = {"generator": "hsar demo-data", "seed": seed, "households": households, "units": units,
                "sips": entries}
    (out / "demo_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return paths
