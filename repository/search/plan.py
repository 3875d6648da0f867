"""From a parsed query, filters and a division scope to a small engine-neutral query algebra.

All the meaning of a query is decided here (which index field a name means, how words are segmented, value
aliases, year ranges, division roll-up), so the two engines only translate :class:`Term`, :class:`Terms`,
:class:`Phrase`, :class:`Prefix`, :class:`And`, :class:`Or` and :class:`MatchAll` one to one, and give the
same answers. :func:`match_spec` gives what hit rendering needs: the words to highlight and the item-level
conditions (class, sub-type, year) that pick an archive's matching items.

Refused with :class:`~repository.errors.QuerySyntaxError` (messages ``query.*`` of the catalogue): a query that is not
blank but leaves nothing to search for once analysed (``😀``, ``，``, ``:``: it would otherwise match every
archive), a filter value likewise, and a division scope (``--division``, ``division:``) that is not a
well-formed GB/T 2260 code (six digits, or nine for a street; :func:`repository.divisions.well_formed`) or,
when the repository's division tree is given, not in it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field

from ..divisions import well_formed
from ..errors import QuerySyntaxError
from . import analysis
from .documents import canonical_value
from .query import Atom, ParsedQuery, year_range
from .schema import ALL, DIVISIONS, KEYWORD, PHRASE, TEXT, YEAR, QueryField, lookup


@dataclass(frozen=True)
class Term:
    field: str
    value: str


@dataclass(frozen=True)
class Terms:
    """Any of ``values`` in ``field``."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Phrase:
    field: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Prefix:
    field: str
    prefix: str


@dataclass(frozen=True)
class MatchAll:
    pass


@dataclass(frozen=True)
class And:
    must: tuple[Node, ...]
    must_not: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Or:
    should: tuple[Node, ...]


Node = Term | Terms | Phrase | Prefix | MatchAll | And | Or

ITEM_FIELDS = ("class", "subtype", "year")
_HIGHLIGHT_KEYWORDS = ("resident_id", "ref", "archive_id", "volume", "box", "shelf", "room", "building")


@dataclass(frozen=True)
class MatchSpec:
    """What hit rendering needs: words to highlight and item conditions (index field -> allowed values)."""

    words: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    item_conditions: tuple[tuple[str, frozenset[str]], ...] = ()
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # text field -> its words


def _text_node(index_field: str, value: str, phrase: bool) -> Node | None:
    ws = list(dict.fromkeys(analysis.words(value)))
    if not ws:
        return None
    if phrase and len(analysis.words(value)) > 1:
        seq = Phrase(PHRASE, tuple(analysis.words(value)))
        return seq if index_field == ALL else And((*(Term(index_field, w) for w in ws), seq))
    node: Node = Term(index_field, ws[0]) if len(ws) == 1 else And(tuple(Term(index_field, w) for w in ws))
    whole = analysis.normalize(value).replace(" ", "")
    if whole not in ws and len(whole) <= analysis.MAX_TOKEN_CHARS:
        node = Or((Term(index_field, whole), node))
    return node


def division_code(value: str, divisions: Container[str] | None = None) -> str:
    """The division code a scope names: well-formed GB/T 2260 (6 digits, or 9 for a street) and, when
    ``divisions`` (the repository's division tree) is given, one of its codes. Full-width digits count."""
    code = unicodedata.normalize("NFKC", value).strip()
    if not well_formed(code):
        raise QuerySyntaxError(msgid="query.division_malformed", value=repr(value))
    if divisions is not None and code not in divisions:
        raise QuerySyntaxError(msgid="query.division_unknown", division=code)
    return code


def _keyword_node(f: QueryField, value: str, divisions: Container[str] | None = None) -> Node:
    if f.kind == YEAR:
        lo, hi = year_range(value)
        return Term(f.index_field, str(lo)) if lo == hi else Terms(f.index_field,
                                                                   tuple(str(y) for y in range(lo, hi + 1)))
    if f.index_field == DIVISIONS:
        return Term(DIVISIONS, division_code(value, divisions))
    if value.endswith("*") and len(value.strip()) > 1:
        return Prefix(f.index_field, canonical_value(f.index_field, value[:-1]))
    return Term(f.index_field, canonical_value(f.index_field, value))


def atom_node(atom: Atom, divisions: Container[str] | None = None) -> Node | None:
    """The algebra of one atom; None when it has no searchable word (only punctuation).

    ``divisions``: the repository's division codes, which a ``division:`` value must be one of (None: any
    well-formed code)."""
    f = atom.field
    if f is None:
        return _text_node(ALL, atom.value, atom.phrase)
    if f.kind == TEXT:
        return _text_node(f.index_field, atom.value, atom.phrase)
    return _keyword_node(f, atom.value, divisions)


def _field(name: str) -> QueryField:
    f = lookup(name)
    if f is None:
        raise QuerySyntaxError(msgid="query.unknown_filter", name=repr(name))
    return f


def _nothing_searchable(what: str) -> QuerySyntaxError:
    return QuerySyntaxError(msgid="query.nothing_searchable", what=repr(what))


def _values(values: str | Sequence[str]) -> list[str]:
    return [values] if isinstance(values, str) else [str(v) for v in values]


def filter_node(name: str, values: str | Sequence[str], divisions: Container[str] | None = None) -> Node | None:
    """Any of ``values`` of the field ``name`` (a filter from a facet click or a command-line option); None
    when no value is given. Values that leave nothing to search for are refused."""
    f = _field(name)
    given = [v for v in _values(values) if v.strip()]
    nodes = [n for v in given for n in [atom_node(Atom(f, v), divisions)] if n is not None]
    if not nodes:
        if given:
            raise _nothing_searchable(f"{name}:{given[0]}")
        return None
    return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))


def build(parsed: ParsedQuery, filters: Mapping[str, str | Sequence[str]] | None = None,
          division: str | None = None, *, divisions: Container[str] | None = None) -> Node:
    """The whole query: the parsed terms AND every filter AND the division scope (with its sub-divisions).

    An empty query matches every archive (filters still apply); a query that is not blank but leaves nothing
    to search for raises :class:`QuerySyntaxError`. ``divisions`` is the repository's division tree (any
    container of codes): the scope and ``division:`` values must be in it; None accepts any well-formed code.
    """
    must: list[Node] = []
    must_not: list[Node] = []
    for group in parsed.groups:
        nodes = [n for n in (atom_node(a, divisions) for a in group) if n is not None]
        if not nodes:
            continue
        node = nodes[0] if len(nodes) == 1 else Or(tuple(nodes))
        (must_not if group[0].negated else must).append(node)
    if parsed.text and not (must or must_not):
        raise _nothing_searchable(parsed.text)
    for name, values in (filters or {}).items():
        extra = filter_node(name, values, divisions)
        if extra is not None:
            must.append(extra)
    if division:
        must.append(_keyword_node(_field("division"), division, divisions))
    return And(tuple(must) or (MatchAll(),), tuple(must_not))


def match_spec(parsed: ParsedQuery, filters: Mapping[str, str | Sequence[str]] | None = None) -> MatchSpec:
    """Highlight words and item conditions from the positive terms of the query and the filters."""
    words: list[str] = []
    keywords: list[str] = []
    per_field: dict[str, list[str]] = {}
    conditions: list[tuple[str, frozenset[str]]] = []
    atoms = [a for a in parsed.atoms if not a.negated]
    atoms += [Atom(_field(k), v) for k, vs in (filters or {}).items() for v in _values(vs) if v.strip()]
    for a in atoms:
        f = a.field
        if f is None or f.kind == TEXT:
            ws = analysis.words(a.value)
            whole = analysis.normalize(a.value).strip()
            found = ([whole] if a.phrase or f is None else []) + ws
            words.extend(found)
            per_field.setdefault(f.index_field if f else ALL, []).extend(found)
        elif f.index_field in ITEM_FIELDS:
            node = _keyword_node(f, a.value)
            values = node.values if isinstance(node, Terms) else (node.value,) if isinstance(node, Term) else ()
            if values:
                conditions.append((f.index_field, frozenset(values)))
        elif f.kind == KEYWORD and f.index_field in _HIGHLIGHT_KEYWORDS:
            keywords.append(canonical_value(f.index_field, a.value.rstrip("*")))
    return MatchSpec(tuple(dict.fromkeys(w for w in words if w)), tuple(dict.fromkeys(keywords)),
                     tuple(conditions), {k: tuple(dict.fromkeys(v)) for k, v in per_field.items()})
