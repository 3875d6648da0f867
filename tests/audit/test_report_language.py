"""The audit report and its texts are in one language per reader: ``repository.language`` picks zh, en or both."""

from __future__ import annotations

import json
import pickle
import re
from datetime import UTC, datetime

from repository.audit.report import render_html, write_reports
from repository.audit.result import AuditRun
from repository.codes import issue
from repository.messages import Text, langs_for

CJK = re.compile(r"[\u4e00-\u9fff]")
AT = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def _run() -> AuditRun:
    vanished = issue("AUD017", "/srv/replica", copy="replica", detail=Text.of("audit.root_vanished"))
    return AuditRun("20250301T020000Z", "all", AT, AT, (("primary", "/srv/store", None),), (), (vanished,),
                    repository="hsar")


def _parts(page: str) -> dict[str, str]:
    return dict(re.findall(r"<section id='(\w+)' lang='[\w-]+'>(.*?)</section>", page))


def test_an_english_report_holds_no_chinese_and_a_chinese_one_no_english_words():
    en = _parts(render_html(_run(), ("en",)))
    assert list(en) == ["en"] and not CJK.search(en["en"]), en
    assert "Audit report" in en["en"] and "the storage root disappeared during the audit" in en["en"]
    zh = _parts(render_html(_run(), ("zh",)))["zh"]
    assert "定期检查报告" in zh and "存储根在审计期间消失" in zh
    words = set(re.findall(r">([A-Za-z][A-Za-z ]+)<", zh)) - {"hsar", "all", "primary", "replica"}
    assert not words, words  # no English label beside the Chinese one


def test_both_gives_a_whole_part_in_each_language():
    page = render_html(_run(), langs_for("both"))
    parts = _parts(page)
    assert "<a href='#en' hreflang='en' lang='en'>English</a>" in parts["zh"]
    assert "<a href='#zh' hreflang='zh-CN' lang='zh-CN'>中文</a>" in parts["en"]  # a language's own name
    assert list(parts) == ["zh", "en"] and not CJK.search(re.sub("<nav>.*?</nav>", "", parts["en"]))


def test_the_json_report_carries_every_language_and_issues_pickle(tmp_path):
    run = _run()
    write_reports((tmp_path / "a.json", tmp_path / "a.html"), run, ("en",))
    (found,) = json.loads((tmp_path / "a.json").read_text("utf-8"))["issues"]
    assert found["messages"]["en"].endswith("the storage root disappeared during the audit")
    assert found["messages"]["zh"].endswith("存储根在审计期间消失")
    again = pickle.loads(pickle.dumps(run.issues[0]))
    assert again == run.issues[0] and again.message_in("en") == found["messages"]["en"]
    assert not CJK.search((tmp_path / "a.html").read_text("utf-8"))


def test_a_text_round_trips_through_json():
    text = Text.of("signature.problems", problems=(Text.of("signature.digest_differs", path="a.pdf"),
                                                   Text.of("signature.empty")))
    back = Text.from_dict(json.loads(json.dumps(text.to_dict())))
    assert back == text and back.render("en") == "digest differs: a.pdf; empty signature file"
    assert back.render("zh") == "摘要不同：a.pdf; 签名文件为空"


def test_a_job_error_with_text_details_is_shown_in_each_readers_language():
    from repository.errors import IngestError
    from repository.jobs.tasks import error_result
    from repository.messages import text

    problems = (Text.of("build.document_undescribed", document="a.pdf"), Text.of("signature.empty"))
    stored = json.loads(json.dumps(error_result(IngestError("", "BUILD-DOCUMENT", msgid="build.documents_mismatch",
                                                            documents="docs", problems=problems))))
    error = stored["error"]
    assert text(error["msgid"], "en", **error["params"]) == (
        "docs does not match the metadata: document a.pdf is not described by the metadata; empty signature file")
    assert text(error["msgid"], "zh", **error["params"]) == "docs 与元数据不符：元数据未描述的文件 a.pdf; 签名文件为空"
