"""Text form of ``hsar show``: every section present, resident IDs masked unless revealed."""

from __future__ import annotations

from repository.catalog.render import render_text
from repository.catalog.store import Catalog
from repository.privacy import mask_resident_id


def household_view(records, build):
    with Catalog("sqlite://") as catalog:
        catalog.create()
        for rec in records.values():
            catalog.record_version(rec)
        return catalog.show(build.HH)


def test_text_show_has_every_section_and_masks_ids(records, build):
    view = household_view(records, build)
    text = render_text(view)
    assert ("利用 控制使用" in text or "利用 开放" in text) and "利用 restricted" not in text  # a label, not a code
    for needle in ("王建国户住房保障档案", "J001-ZF·2021-Y-0001", "状态 在保 自 2021-06-18", "申请材料 (application): 2 件",
                   "实施保障材料 (provision): 0 件", "卷2023-0007 件4 页2-4 盒H-0102 1库3排2柜4格", "v2 2023-05-10",
                   "data/review/0003-审核表.pdf", "fmt/353", "格式识别 成功 FIDO", "个文件",
                   "→ occupies un-320102-0001 锦绣花园", "← occupiedBy un-320102-0001"):
        assert needle in text, needle
    assert "11010519491231002X" not in text and "110105********002X" in text
    assert "11010519491231002X" in render_text(view, reveal_ids=True)


def test_mask_resident_id():
    assert mask_resident_id("11010519491231002X") == "110105********002X"
    assert mask_resident_id("12345") == "*****"


def test_text_show_in_english_has_english_labels_and_recorded_values(records, build):
    text = render_text(household_view(records, build), lang="en")
    for needle in ("王建国户住房保障档案", "reference code J001-ZF·2021-Y-0001", "status provided since 2021-06-18",
                   "retention permanent", "items by class:", "申请材料 (application): 2 items",
                   "vol. 2023-0007 item 4 pp. 2-4 box H-0102 1库3排2柜4格", "versions:", "events:", "relations:",
                   "head of household", "format identification success FIDO", " files "):
        assert needle in text, needle
    for chinese_label in ("档号", "状态", "材料 (items", "版本", "事件", "关联", "户主", "保管期限", "格式识别", "成功"):
        assert chinese_label not in text, chinese_label
    assert "110105********002X" in text and "11010519491231002X" not in text
