"""The CSV transfer list (移交清单) is for people: its Chinese columns held the archive type as the code
``household`` (found by the review of the life-cycle pages); the XML keeps the code."""

from __future__ import annotations

import csv
import io

from repository.transfer.lists import ExportedArchive, render_csv, render_xml


def _archive(kind: str) -> ExportedArchive:
    return ExportedArchive(archive_id=f"{kind[:2]}-1", package=f"{kind[:2]}-1", reference_code="J001-ZF·2019-Y-0001",
                           title="t", type=kind, division="320104", versions=1, head="v1", items=2, files=3, bytes=4,
                           export_event="e")


def test_the_csv_list_names_the_archive_type() -> None:
    from datetime import UTC, datetime

    archives = [_archive("household"), _archive("unit")]
    rows = list(csv.reader(io.StringIO(render_csv(archives).decode("utf-8-sig"))))
    assert rows[0][4] == "档案门类" and [r[4] for r in rows[1:3]] == ["住房保障对象档案", "住房保障房源档案"]
    english = list(csv.reader(io.StringIO(render_csv(archives, lang="en").decode("utf-8-sig"))))
    assert [r[4] for r in english[1:3]] == ["household archive", "housing-unit archive"]
    assert b"<type>household</type>" in render_xml(archives, institution="x", created=datetime(2026, 1, 1, tzinfo=UTC))
