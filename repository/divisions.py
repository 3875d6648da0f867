"""Administrative divisions (行政区划) after GB/T 2260, and the repository's division tree.

A GB/T 2260 code has six digits: two for the province (省), two for the prefecture-level city (市) and two for
the county-level district (区/县), ``320102`` 玄武区. Streets and towns (街道/乡镇) add three more digits, the
first nine digits of the National Bureau of Statistics' 12-digit statistical code (统计用区划代码), e.g.
``320102002`` 梅园新村街道.

Every archive belongs to a division; each level holds its own archives and inspects those below it, so
search, access control and statistics roll up along the tree. The tree is a data file the archive maintains
(setting ``repository.divisions``; empty means the bundled demo city, ``data/divisions/nanjing.json``): a JSON
list of ``{code, name, parent}``. Entries that carry only ``_``-keys are comments.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import Config

Level = Literal["province", "city", "district", "street"]

# GB/T 2260 province-level codes (first two digits): 11-15 north, 21-23 north-east, 31-37 east, 41-46
# central-south, 50-54 south-west, 61-65 north-west, 71 Taiwan, 81 Hong Kong, 82 Macao.
PROVINCE_PREFIXES: frozenset[str] = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)

BUNDLED = "data/divisions/nanjing.json"
NATIONAL = "000000"  # the national (root) scope of an account or a run: every division (repository.access)


def level_of(code: str) -> Level | None:
    """The level a well-formed code names, from its shape alone (``None`` when malformed)."""
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        return None
    if len(code) == 9:
        return "street" if level_of(code[:6]) == "district" and code[6:] != "000" else None
    if len(code) != 6 or code[:2] not in PROVINCE_PREFIXES:
        return None
    city, county = code[2:4], code[4:6]
    if city == "00":
        return "province" if county == "00" else None
    return "city" if county == "00" else "district"


def well_formed(code: str) -> bool:
    """GB/T 2260 shape: six digits with a valid province prefix, or nine whose first six name a district."""
    return level_of(code) is not None


def shape_parent(code: str) -> str | None:
    """The parent a code's shape implies: street -> its district, district -> its city, city -> province."""
    level = level_of(code)
    if level == "street":
        return code[:6]
    if level == "district":
        return code[:4] + "00"
    if level == "city":
        return code[:2] + "0000"
    return None


@dataclass(frozen=True)
class Division:
    """One division: GB/T 2260 ``code``, Chinese ``name``, ``level`` and ``parent`` code (``None`` at the root)."""

    code: str
    name: str
    level: Level
    parent: str | None


class DivisionTree:
    """The divisions this repository knows, as a tree (several roots are allowed)."""

    well_formed = staticmethod(well_formed)

    def __init__(self, divisions: list[Division]) -> None:
        self._by_code: dict[str, Division] = {}
        self._children: dict[str, list[str]] = {}
        for d in divisions:
            if d.code in self._by_code:
                raise ConfigError(f"division {d.code} is listed twice")
            self._by_code[d.code] = d
            self._children[d.code] = []
        for d in divisions:
            if d.parent is not None:
                if d.parent not in self._by_code:
                    raise ConfigError(f"division {d.code}: parent {d.parent} is not in the tree")
                self._children[d.parent].append(d.code)
        for kids in self._children.values():
            kids.sort()

    @classmethod
    def load(cls, path: Path | None = None) -> DivisionTree:
        """Read a division data file; ``None`` reads the bundled demo city. Bad data raises ConfigError."""
        try:
            if path is None:
                text = resources.files("repository").joinpath(BUNDLED).read_text("utf-8")
            else:
                text = Path(path).read_text("utf-8")
            raw = json.loads(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"division file {path or BUNDLED}: {exc}") from None
        if not isinstance(raw, list):
            raise ConfigError(f"division file {path or BUNDLED}: expected a JSON list of {{code, name, parent}}")
        return cls([_division(entry, path) for entry in raw if not _is_comment(entry)])

    # --- lookup -------------------------------------------------------------------------------------------
    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Division]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Division | None:
        return self._by_code.get(code)

    def roots(self) -> list[str]:
        return sorted(c for c, d in self._by_code.items() if d.parent is None)

    def children(self, code: str) -> list[str]:
        """Codes of the direct children (sorted); empty for a leaf or an unknown code."""
        return list(self._children.get(code, ()))

    def descendants(self, code: str) -> set[str]:
        """``code`` and every division below it; empty when ``code`` is unknown."""
        if code not in self._by_code:
            return set()
        found, stack = set(), [code]
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(self._children[current])
        return found

    def ancestors(self, code: str) -> list[str]:
        """Codes from the root down to ``code`` inclusive; empty when ``code`` is unknown."""
        chain: list[str] = []
        current = self._by_code.get(code)
        while current is not None:
            chain.append(current.code)
            current = self._by_code.get(current.parent) if current.parent else None
        return chain[::-1]

    def contains(self, ancestor: str, code: str) -> bool:
        """Whether ``code`` is ``ancestor`` or lies below it (both must be in the tree)."""
        return ancestor in self.ancestors(code)

    def leaves(self) -> list[str]:
        return sorted(c for c, kids in self._children.items() if not kids)

    def path_name(self, code: str) -> str:
        """Names from the root down, space-separated: ``江苏省 南京市 玄武区 梅园新村街道`` ('' if unknown)."""
        return " ".join(self._by_code[c].name for c in self.ancestors(code))


def _is_comment(entry: object) -> bool:
    return isinstance(entry, dict) and bool(entry) and all(str(k).startswith("_") for k in entry)


def _division(entry: object, path: Path | None) -> Division:
    where = f"division file {path or BUNDLED}"
    if not isinstance(entry, dict) or not isinstance(entry.get("code"), str) or not entry.get("name"):
        raise ConfigError(f"{where}: every entry needs a string code and a name, got {entry!r}")
    code, parent = entry["code"], entry.get("parent")
    level = level_of(code)
    if level is None:
        raise ConfigError(f"{where}: {code} is not a well-formed GB/T 2260 code")
    if parent is not None and parent != shape_parent(code) and not _skips_city(code, parent):
        raise ConfigError(f"{where}: {code} cannot lie below {parent}")
    return Division(code, str(entry["name"]), level, parent)


def _skips_city(code: str, parent: str) -> bool:
    """County-level divisions directly under a province (省直辖县级行政单位, e.g. 429004 仙桃市)."""
    return level_of(code) == "district" and parent == code[:2] + "0000"


@cache
def default_tree() -> DivisionTree:
    """The bundled demo city's tree, loaded once per process."""
    return DivisionTree.load()


@cache
def _tree_at(path: str, mtime_ns: int) -> DivisionTree:
    return DivisionTree.load(Path(path))


def tree_for(cfg: Config | None) -> DivisionTree:
    """The tree a repository uses: setting ``repository.divisions`` (relative to the home) or the bundled one."""
    if cfg is None or not cfg["repository.divisions"]:
        return default_tree()
    path = cfg.path("repository.divisions")
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"division file {path}: {exc}") from None
    return _tree_at(str(path), mtime)
