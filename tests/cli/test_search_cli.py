"""``hsar search`` and ``hsar reindex`` over a repository built by ingesting the demo SIPs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from repository.cli import cli
from repository.home import Repository
from repository.ingest.pipeline import ingest
from repository.preservation.ids import object_id

from .conftest import copy_home


def search(home: Path, *args: str) -> tuple[int, dict | str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "search", *args])
    assert "Traceback" not in result.output
    if "--json" in args and result.exit_code == 0:
        return result.exit_code, json.loads(result.output)
    return result.exit_code, result.output


def _answer(home: Path, query: str) -> dict:
    """A search's answer without relevance scores (they depend on the index's deleted-document history)."""
    code, found = search(home, query, "--json", "--facet", "status")
    assert code == 0
    for hit in found["hits"]:
        hit.pop("score", None)
    return found


def _household(home: Path) -> tuple[str, object]:
    with Repository.open(home) as repo:
        archive_id = next(a for a in repo.catalog.archive_ids() if a.startswith("hh-"))
        return archive_id, repo.catalog.show(archive_id).archive


def test_search_by_name_id_and_box_with_masking(ingested_home: Path) -> None:
    archive_id, archive = _household(ingested_home)
    head = archive.household.head
    code, found = search(ingested_home, f"name:{head.name}", "--json")
    assert code == 0 and archive_id in [h["archive_id"] for h in found["hits"]]
    code, found = search(ingested_home, f"id:{head.resident_id}", "--json")
    assert [h["archive_id"] for h in found["hits"]] == [archive_id]
    assert set(found) == {"total", "hits", "facets"}
    assert set(found["hits"][0]) >= {"archive_id", "title", "division", "items", "paper", "highlights"}
    code, masked = search(ingested_home, f"id:{head.resident_id}", "--json", "--mask")
    assert head.resident_id not in json.dumps(masked, ensure_ascii=False)
    assert head.resident_id[:6] + "********" + head.resident_id[-4:] in json.dumps(masked, ensure_ascii=False)
    code, found = search(ingested_home, f"box:{archive.volume.box}", "--json")
    assert archive_id in [h["archive_id"] for h in found["hits"]]


def test_division_scope_and_facets(ingested_home: Path) -> None:
    archive_id, archive = _household(ingested_home)
    district = archive.division[:6]
    code, scoped = search(ingested_home, "", "--division", district, "--facet", "type", "--json")
    assert code == 0 and scoped["total"] >= 1
    assert all(h["division"].startswith(district) for h in scoped["hits"])
    assert sum(scoped["facets"]["type"].values()) == scoped["total"]
    code, city = search(ingested_home, "", "--division", "320100", "--json", "--per-page", "1000")
    with Repository.open(ingested_home) as repo:
        assert city["total"] == len(repo.catalog.archive_ids())


def test_malformed_query_is_a_clear_message(ingested_home: Path) -> None:
    code, out = search(ingested_home, '"unbalanced')
    assert code == 2 and "[QUERY]" in out and "Traceback" not in out  # unusable arguments
    code, out = search(ingested_home, "year:abc")
    assert code == 2 and "[QUERY]" in out
    code, out = search(ingested_home, "王", "--facet", "bogus")
    assert code == 2 and "[SEARCH]" in out and "未知的分面 'bogus'" in out  # the default language: zh


def test_supplement_items_become_findable_and_reindex_answers_the_same(demo, home_template, tmp_path) -> None:
    home = copy_home(home_template, tmp_path / "home")
    original, supplement = demo.first_with_supplement()
    with Repository.open(home) as repo:
        [first] = ingest(repo, [original])
        before = {i.number for i in repo.catalog.show(first.archive_id).archive.items}
        ingest(repo, [supplement])
        after = repo.catalog.show(first.archive_id).archive
    new = [i for i in after.items if i.number not in before]
    assert new
    code, found = search(home, f"archive:{first.archive_id} title:{new[0].title}", "--json")
    hits = found["hits"]
    assert [h["archive_id"] for h in hits] == [first.archive_id]
    assert new[0].number in [i["number"] for i in hits[0]["items"]]
    queries = [f"archive:{first.archive_id}", "年度复核", f"subtype:{new[0].subtype}"]
    answers = [_answer(home, q) for q in queries]
    shutil.rmtree(home / "index")
    result = CliRunner().invoke(cli, ["--home", str(home), "reindex"])
    assert result.exit_code == 0, result.output
    assert [_answer(home, q) for q in queries] == answers
    with Repository.open(home) as repo:
        assert repo.store.head(object_id(first.archive_id)) == "v2"


def _total(home: Path, *args: str) -> int:
    code, found = search(home, *args, "--json", "--per-page", "1000")
    assert code == 0, found
    return found["total"]


def test_a_negated_word_needs_no_double_dash_and_options_stand_anywhere(ingested_home: Path) -> None:
    archive_id, archive = _household(ingested_home)
    name = archive.household.head.name
    everything, named = _total(ingested_home, ""), _total(ingested_home, name)
    assert 0 < named < everything
    assert _total(ingested_home, f"-{name}") == everything - named
    code, found = search(ingested_home, "--json", "--", f"-{name}")  # -- still works
    assert code == 0 and found["total"] == everything - named
    assert _total(ingested_home, f"NOT {name}") == everything - named
    code, found = search(ingested_home, "--division", "320100", f"-{name}", "--json", "住房")
    assert code == 0 and archive_id not in [h["archive_id"] for h in found["hits"]]
    assert found["total"] == _total(ingested_home, "住房", f"-{name}", "--division=320100")
    code, out = search(ingested_home, f"-{name} OR 王")  # parsed as a query now: the library says what is wrong
    assert code == 2 and "[QUERY]" in out and "不能用在 OR 中" in out


def test_an_unknown_option_is_refused_not_searched(ingested_home: Path) -> None:
    code, out = search(ingested_home, "住房", "--bogus", "--json")
    assert code == 2 and "错误 [USAGE]: No such option '--bogus'" in out and '"total"' not in out
    code, out = search(ingested_home, "住房", "--division")
    assert code == 2 and "[USAGE]" in out and "'--division' requires an argument" in out
    assert " search --help 查看用法" in out
    code, out = search(ingested_home, "住房", "-h")
    assert code == 0 and " search [OPTIONS] [QUERY]...\n" in out


def test_a_query_with_nothing_searchable_is_a_query_error(ingested_home: Path) -> None:
    for query in ("😀", "，", "!!!，。、？", ":", "-😀"):
        code, out = search(ingested_home, query)
        assert code == 2 and "错误 [QUERY]: " in out, (query, out)
        assert "没有可检索的内容" in out and "nothing searchable is left" not in out  # zh only (--lang)
        assert "共" not in out
    code, out = search(ingested_home, "孙 😀")  # something is left: searched
    assert code == 0
    with Repository.open(ingested_home) as repo:
        assert _total(ingested_home) == _total(ingested_home, "") == len(repo.catalog.archive_ids())


def test_division_codes_must_be_well_formed_and_in_the_tree(ingested_home: Path) -> None:
    for division in ("3201", "32", "0", "999999", "32011400000000000", "abc", "-1", "320100000"):
        code, out = search(ingested_home, "", "--division", division)
        assert code == 2 and "[QUERY]" in out and f"'{division}'" in out, (division, out)
        assert "行政区划" in out and "GB/T 2260" in out
    for scope in (("--division", "320200"), ("division:320200",)):
        code, out = search(ingested_home, *scope)
        assert code == 2 and "[QUERY]" in out
        assert "320200 不在本库的区划树中" in out and "division tree" not in out
    assert _total(ingested_home, "", "--division", "320100") == _total(ingested_home, "")


def test_request_and_query_errors_are_in_chinese_under_the_default_language(ingested_home: Path) -> None:
    for args, zh, en in ((('"unbalanced',), "引号没有配对", "unbalanced quote at position 1"),
                         (("colour:red",), "未知字段 'colour'", "unknown field 'colour'"),
                         (("year:abc",), "年度 'abc' 有误", "bad year 'abc'"),
                         (("王", "--facet", "bogus"), "未知的分面 'bogus'", "unknown facet 'bogus'")):
        code, out = search(ingested_home, *args)
        assert code == 2 and zh in out and en not in out, out


def test_text_output_labels_paper_references_in_the_interface_language(ingested_home: Path) -> None:
    archive_id, archive = _household(ingested_home)
    query = f"archive:{archive_id} name:{archive.household.head.name}"
    code, zh = search(ingested_home, query, "--facet", "status")
    assert code == 0 and f"[{archive_id}]" in zh
    paper = next(line for line in zh.splitlines() if line.strip().startswith("纸质:"))
    assert f"档号 {archive.reference_code}" in paper and f"全宗号 {archive.fonds}" in paper
    assert f"目录号 {archive.volume.catalogue}" in paper and f"案卷号 {archive.volume.number}" in paper
    assert f"盒号 {archive.volume.box}" in paper and "件号 1" in paper and "存放位置 " in paper
    assert "=" not in paper and "reference_code" not in zh and "fonds" not in zh
    assert "    姓名: " in zh and "保障状态: " in zh
    result = CliRunner().invoke(cli, ["--home", str(ingested_home), "--lang", "en", "search", query,
                                      "--facet", "status"])
    assert result.exit_code == 0
    paper = next(line for line in result.output.splitlines() if line.strip().startswith("paper:"))
    assert f"reference code {archive.reference_code}" in paper and f"fonds {archive.fonds}" in paper
    assert f"box {archive.volume.box}" in paper and "items 1" in paper
    assert "档号" not in result.output and "    name: " in result.output and "\nstatus: " in result.output


def test_reindex_skips_an_unreadable_description_and_keeps_the_rest(ingested_home: Path, tmp_path: Path) -> None:
    home = copy_home(ingested_home, tmp_path / "broken")
    with Repository.open(home) as repo:
        ids = sorted(repo.catalog.archive_ids())
        victim = repo.store.content_path(object_id(ids[0]), "metadata/descriptive.xml")
    victim.chmod(0o644)
    victim.write_bytes(b"garbage, not XML")
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", "reindex"])
    assert result.exit_code == 1 and "[SEARCH]" in result.output and "Traceback" not in result.output
    assert f"{len(ids) - 1} archives indexed, 1 could not be read" in result.output
    code, found = search(home, "--json")
    assert code == 0 and found["total"] == len(ids) - 1  # the others are searchable, not an emptied index


def test_a_damaged_index_says_run_reindex_and_reindex_repairs_it(ingested_home: Path, tmp_path: Path) -> None:
    home = copy_home(ingested_home, tmp_path / "damaged")
    settings = home / "hsar.toml"  # Whoosh stays selectable: this damage is in its files
    settings.write_text(settings.read_text("utf-8").replace('engine = "tantivy"', 'engine = "whoosh"'), "utf-8")
    assert CliRunner().invoke(cli, ["--home", str(home), "reindex"]).exit_code == 0
    whoosh = home / "index" / "whoosh"
    for toc in whoosh.glob("*.toc"):
        toc.unlink()  # the segments stay: not an empty index, a damaged one
    code, out = search(home, "王")
    assert code == 1 and "[SEARCH]" in out and "reindex" in out
    shutil.rmtree(whoosh)
    whoosh.write_text("not a directory")
    code, out = search(home, "王")
    assert code == 1 and "[SEARCH]" in out and "reindex" in out
    fixed = CliRunner().invoke(cli, ["--home", str(home), "reindex"])
    assert fixed.exit_code == 0, fixed.output
    code, found = search(home, "--json")
    with Repository.open(home) as repo:
        assert code == 0 and found["total"] == len(repo.catalog.archive_ids())


def test_an_index_that_cannot_know_is_reported_with_the_command_to_run(ingested_home: Path, tmp_path: Path,
                                                                        monkeypatch) -> None:
    """Tantivy selected before any reindex, or an index emptied by a failed write: not "0 hits" with exit 0."""
    home = copy_home(ingested_home, tmp_path / "home")
    archive_id, _archive = _household(home)
    monkeypatch.setenv("HSAR_SEARCH_ENGINE", "tantivy" if "whoosh" in _engine(home) else "whoosh")
    code, output = search(home, archive_id)
    assert code == 1 and "[SEARCH-STALE]" in str(output) and "hsar reindex" in str(output), output
    monkeypatch.delenv("HSAR_SEARCH_ENGINE")
    with Repository.open(home) as repo:  # the catalogue has an archive the index lost
        repo.search.delete(archive_id)
        repo.search.commit()
    lost = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", "search", archive_id])
    assert lost.exit_code == 0 and "hsar reindex" in lost.stderr  # the others answer; the gap is reported
    code, found = search(home, archive_id, "--json")
    assert found["index_behind"]["indexed"] == found["index_behind"]["catalogued"] - 1  # type: ignore[index]
    assert CliRunner().invoke(cli, ["--home", str(home), "reindex"]).exit_code == 0
    code, found = search(home, archive_id, "--json")
    assert code == 0 and archive_id in [h["archive_id"] for h in found["hits"]]  # type: ignore[index]
    assert "index_behind" not in found


def _engine(home: Path) -> str:
    with Repository.open(home) as repo:
        return str(repo.cfg["search.engine"])


def test_the_index_never_holds_a_resident_id_yet_finds_it_exactly(ingested_home: Path, tmp_path: Path) -> None:
    """A keyed digest (HMAC-SHA256 with the home's owner-only secret) stands for each number in the index."""
    import stat

    home = copy_home(ingested_home, tmp_path / "home")
    archive_id, archive = _household(home)
    ids = [archive.household.head.resident_id, *(m.resident_id for m in archive.household.members)]
    assert CliRunner().invoke(cli, ["--home", str(home), "reindex"]).exit_code == 0
    key = home / "keys" / "index-id.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    with Repository.open(home) as repo:
        index = repo.paths.index
    blobs = b"".join(p.read_bytes() for p in index.rglob("*") if p.is_file())
    for resident_id in ids:
        assert resident_id.encode() not in blobs, resident_id
        assert resident_id[6:14].encode() not in blobs  # not even the birth date part
        code, found = search(home, f"id:{resident_id}", "--json")
        assert code == 0 and archive_id in [h["archive_id"] for h in found["hits"]]  # type: ignore[index]
    code, found = search(home, f"id:{ids[0][:-1]}0" if ids[0][-1] != "0" else f"id:{ids[0][:-1]}1", "--json")
    assert code == 0 and archive_id not in [h["archive_id"] for h in found["hits"]]  # type: ignore[index]


def test_search_documents_use_the_repositorys_division_tree(ingested_home: Path, tmp_path: Path) -> None:
    """``repository.divisions`` names the divisions in documents (reindex), not the bundled demo tree."""
    home = copy_home(ingested_home, tmp_path / "home")
    archive_id, archive = _household(home)
    street = archive.division
    entries = [{"code": "320000", "name": "江苏省", "parent": None},
               {"code": "320100", "name": "南京市", "parent": "320000"},
               {"code": street[:6], "name": "试验新区", "parent": "320100"},
               {"code": street, "name": "试验街道", "parent": street[:6]}]
    (home / "divisions.json").write_text(json.dumps(entries, ensure_ascii=False), "utf-8")
    settings = home / "hsar.toml"
    settings.write_text(settings.read_text("utf-8").replace('divisions = ""', 'divisions = "divisions.json"'),
                        "utf-8")
    assert CliRunner().invoke(cli, ["--home", str(home), "reindex"]).exit_code == 0
    code, found = search(home, "试验街道", "--json")
    assert code == 0 and archive_id in [h["archive_id"] for h in found["hits"]]  # type: ignore[index]


def test_an_index_of_an_older_format_is_refused_until_reindexed(ingested_home: Path, tmp_path: Path) -> None:
    """An index built by an hsar whose payloads differ (version 1 could hold archive identifiers masked) is
    never searched: the search names ``hsar reindex``, which rebuilds it from storage in the current format."""
    from repository.search.schema import SCHEMA_VERSION
    from repository.search.tantivy_engine import MARKER

    home = copy_home(ingested_home, tmp_path / "home")
    [marker] = list((home / "index").rglob(MARKER))
    stamp = json.loads(marker.read_text("utf-8"))
    assert stamp["schema"] == SCHEMA_VERSION >= 2
    marker.write_text(json.dumps({**stamp, "schema": 1}), "utf-8")
    refused = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", "search", "住房"])
    assert refused.exit_code != 0 and "another hsar version" in refused.output and "hsar reindex" in refused.output
    result = CliRunner().invoke(cli, ["--home", str(home), "reindex"])
    assert result.exit_code == 0, result.output
    assert json.loads(marker.read_text("utf-8"))["schema"] == SCHEMA_VERSION
    code, found = search(home, "住房", "--json")
    assert code == 0 and found["total"] > 0
