"""Synthetic people for demo data: Chinese names and GB 11643-1999 resident identity numbers.

Everything is drawn from a caller's ``random.Random`` so a seed always gives the same people. Names follow
the common-surname ranking and given names typical of each birth decade; identity numbers carry real
Jiangsu (mostly Nanjing) county-level region codes, a plausible birth date, a sequence code whose parity
gives the sex (odd male, even female) and the ISO 7064 MOD 11-2 check character of GB 11643.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from ..model import Member, Person

# The hundred most common surnames, most frequent first (weights fall off with rank).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭"
    "陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛段雷龙史陶贺毛郝顾龚邵万钱戴严孔向常汤康易乔赖文"
)

# Given names by sex and era of birth: (born before 1966, 1966-1985, after 1985).
GIVEN_NAMES: dict[str, tuple[tuple[str, ...], ...]] = {
    "M": (
        ("建国", "建华", "国强", "卫东", "德明", "志刚", "永福", "长林", "国庆", "建军", "福生", "根宝", "金海"),
        ("伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "辉", "刚", "峰", "海波", "志强", "晓东", "建平"),
        ("浩然", "子轩", "宇航", "一鸣", "俊杰", "梓豪", "晨阳", "思远", "文博", "嘉诚", "天宇", "明轩"),
    ),
    "F": (
        ("秀英", "桂英", "秀兰", "玉兰", "凤英", "桂兰", "淑珍", "素芳", "玉珍", "美华", "金凤", "爱华"),
        ("丽", "敏", "静", "芳", "娟", "艳", "霞", "红梅", "晓燕", "丽萍", "海燕", "春梅", "雪梅"),
        ("佳怡", "欣怡", "梓涵", "诗涵", "雨桐", "子萱", "思琪", "语嫣", "可馨", "若曦", "婉清", "心悦"),
    ),
}

# Real county-level codes (GB/T 2260) used as the first six digits of identity numbers. Nanjing districts
# dominate; 白下区 320103 and 下关区 320107 were merged in 2013 but live on in older numbers.
NANJING_REGIONS = ("320102", "320104", "320105", "320106", "320111", "320113", "320114", "320115",
                   "320116", "320117", "320118", "320103", "320107")
MERGED_2013 = ("320103", "320107")
OTHER_REGIONS = ("320211", "320311", "320402", "320505", "320602", "320706", "320812", "320902",
                 "321002", "321102", "321202", "321302", "340104", "341202")

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    """GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"need 17 digits, got {first17!r}")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def resident_id(region: str, birth: date, sequence: int) -> str:
    """An 18-character resident identity number; ``sequence`` 1..999 (odd male, even female)."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


@dataclass(frozen=True)
class Citizen:
    """A made-up person with the facts documents need."""

    name: str
    resident_id: str
    sex: str  # "M" or "F"
    birth: date

    @property
    def sex_label(self) -> str:
        return "男" if self.sex == "M" else "女"

    def person(self) -> Person:
        return Person(self.name, self.resident_id)

    def member(self, relation: str) -> Member:
        return Member(self.name, self.resident_id, relation)


def _surname(rng: random.Random) -> str:
    # Zipf-like: rank r has weight 1/(r+8), so 王/李/张 are common and the tail still appears.
    return rng.choices(SURNAMES, weights=[1 / (r + 8) for r in range(len(SURNAMES))])[0]


def _given(rng: random.Random, sex: str, birth: date) -> str:
    era = 0 if birth.year < 1966 else 1 if birth.year <= 1985 else 2
    return rng.choice(GIVEN_NAMES[sex][era])


def _birth(rng: random.Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def citizen(rng: random.Random, *, sex: str, birth_year: int, surname: str | None = None,
            local: float = 0.8) -> Citizen:
    """One person born in ``birth_year``; ``local`` is the chance of a Nanjing region code."""
    birth = _birth(rng, birth_year)
    regions: tuple[str, ...] = NANJING_REGIONS if rng.random() < local else OTHER_REGIONS
    if birth.year >= 2013:  # 白下区 and 下关区 were merged away in February 2013
        regions = tuple(r for r in regions if r not in MERGED_2013)
    region = rng.choice(regions)
    sequence = rng.randrange(1, 500) * 2 - (1 if sex == "M" else 0)
    name = (surname or _surname(rng)) + _given(rng, sex, birth)
    return Citizen(name, resident_id(region, birth, sequence), sex, birth)


@dataclass(frozen=True)
class Family:
    """A household's people: the applicant (户主) and members with their relation to the applicant."""

    head: Citizen
    members: tuple[tuple[Citizen, str], ...]

    def everyone(self) -> list[Citizen]:
        return [self.head] + [c for c, _ in self.members]


def family(rng: random.Random, year: int, *, migrant: bool = False) -> Family:
    """A plausible household applying in ``year``: single, couple, couple with children, or with a parent."""
    local = 0.2 if migrant else 0.85
    head_age = rng.randint(23, 45) if migrant else rng.randint(24, 78)
    sex = rng.choice("MF")
    head = citizen(rng, sex=sex, birth_year=year - head_age, local=local)
    members: list[tuple[Citizen, str]] = []
    shape = rng.choices(("single", "couple", "children", "parent"), weights=(3, 3, 5, 1))[0]
    if shape == "single":
        return Family(head, ())
    spouse_sex = "F" if sex == "M" else "M"
    members.append((citizen(rng, sex=spouse_sex, birth_year=year - head_age + rng.randint(-4, 4),
                            local=local), "配偶"))
    if shape == "children" and head_age < 70:
        for _ in range(rng.choice((1, 1, 2))):
            child_year = min(year - head_age + rng.randint(22, 36), year - 1)
            members.append((citizen(rng, sex=rng.choice("MF"), birth_year=child_year,
                                    surname=head.name[0], local=1.0), "子女"))
    if shape == "parent" and head_age < 55:
        members.append((citizen(rng, sex=rng.choice("MF"), birth_year=year - head_age - rng.randint(24, 32),
                                surname=head.name[0] if rng.random() < 0.5 else None, local=local), "父母"))
    return Family(head, tuple(members))
