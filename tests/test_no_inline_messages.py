"""No inline bilingual messages in the library: a text for a person is a key of the message catalogue.

Scans every module under ``repository/`` except the web application (``web/``: its templates and its own
checks) for string constants (f-string parts included, docstrings excluded) holding Chinese characters. The
command line is scanned too: its result lines, labels and errors come from ``data/messages/cli.json`` in
``--lang``; only its ``--help`` texts (``help=`` of an option, a command's docstring) are written in both
languages, as ``hsar --help`` is one page for readers of either. Such a constant is allowed only in
modules whose Chinese is domain vocabulary (listed with the reason), and a message written as
``"中文 / English"`` is refused everywhere but in the few modules still to convert, each capped at the count it
has now so none can grow.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import repository

ROOT = Path(repository.__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff]")
BILINGUAL = re.compile(r"[\u4e00-\u9fff][^\n]* / [^\n]*[A-Za-z]{2}|^ *(?:处 )?/ [a-z]")

#: Modules whose Chinese strings are the domain's own words, not messages.
VOCABULARY = {
    "demo/archives.py": "demo archive content", "demo/forms.py": "texts of demo forms",
    "demo/unit_forms.py": "texts of demo forms of housing units",
    "demo/people.py": "demo names and addresses", "demo/paper.py": "a planted shelf location (库排柜格)", "demo/docs.py": "demo document content",
    "demo/generate.py": "demo material titles", "demo/defects.py": "demo package content",
    "demo/defects_bag.py": "demo package content", "demo/defects_pkg.py": "demo file names",
    "model.py": "controlled vocabularies of the 2012 rules (sub-types, security types, relations, shelf words)",
    "privacy.py": "compound Chinese surnames (复姓), kept whole when a name is masked",
    "description/exports.py": "column names and values of the management systems' JSON/CSV exports",
    "search/schema.py": "Chinese field names and synonyms a query may use",
    "search/documents.py": "address words indexed with a unit",
    "search/analysis.py": "CJK code-point ranges",
    "preservation/pki.py": "names of the demo certificates, written into them",
    "preservation/premis.py": "the holding institution's role in PREMIS, written into the AIP",
    "config.py": "descriptions of settings, written into hsar.toml (to move to the catalogue: pending)",
}
#: Modules still holding "中文 / English" texts, with their count (none left: kept so a future exception is visible).
PENDING: dict[str, int] = {}


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"))
    docs = {id(part) for node in ast.walk(tree) if isinstance(node, ast.Call)
            for k in node.keywords if k.arg == "help" for part in ast.walk(k.value)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            and CJK.search(node.value)]


def _library() -> list[tuple[str, list[tuple[int, str]]]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith("web/"):
            out.append((rel, _strings(path)))
    return out


def test_no_library_module_holds_an_inline_message() -> None:
    offending = []
    for rel, found in _library():
        if rel in VOCABULARY or rel in PENDING:
            continue
        offending += [f"{rel}:{line}: {value[:60]!r}" for line, value in found]
    assert not offending, "put these texts in repository/data/messages/*.json:\n" + "\n".join(offending)


def test_pending_modules_do_not_grow_and_vocabulary_has_no_messages() -> None:
    for rel, found in _library():
        if rel in PENDING:
            assert len(found) <= PENDING[rel], f"{rel}: new Chinese strings; use the message catalogue"
        elif rel in VOCABULARY:
            bilingual = [f"{line}: {value[:60]!r}" for line, value in found if BILINGUAL.search(value)]
            assert not bilingual, f"{rel} holds messages, not vocabulary: {bilingual}"


def test_the_scan_finds_a_planted_message(tmp_path: Path) -> None:
    planted = tmp_path / "m.py"
    planted.write_text('"""Doc: 中文 / English."""\nx = f"{1} 无法读取 / cannot read"\n', "utf-8")
    [(line, value)] = _strings(planted)
    assert line == 2 and BILINGUAL.search(value)


def test_the_command_line_is_scanned_and_has_no_two_language_helper() -> None:
    scanned = {rel for rel, _found in _library()}
    assert {"cli/audit.py", "cli/base.py", "cli/store.py"} <= scanned
    base = (ROOT / "cli" / "base.py").read_text("utf-8")
    assert "def t(" not in base and "c.t(" not in "".join(p.read_text("utf-8") for p in (ROOT / "cli").glob("*.py"))


def test_help_texts_are_left_out_of_the_scan_but_a_message_beside_them_is_not(tmp_path: Path) -> None:
    planted = tmp_path / "m.py"
    planted.write_text('import click\n@click.option("--x", help="输出 JSON Print JSON.")\ndef f(x):\n'
                       '    click.echo(f"已创建 {x}")\n', "utf-8")
    [(line, _value)] = _strings(planted)
    assert line == 4


def test_lists_name_existing_modules() -> None:
    for rel in (*VOCABULARY, *PENDING):
        assert (ROOT / rel).is_file(), rel
