"""The register upload's refusal of a file that is neither CSV nor XLSX said "choose a file", as if none had
been chosen (found by the review of the life-cycle pages)."""

from __future__ import annotations

import io
import re
from pathlib import Path

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')



def test_a_register_of_another_kind_is_named_with_the_reason(paper_home: Path, login) -> None:
    client = login(paper_home, "jianye")
    token = TOKEN.search(client.get("/paper").get_data(as_text=True)).group(1)
    refused = client.post("/paper/import", data={"register": (io.BytesIO(b"%PDF-1.7"), "登记表.pdf"),
                                                 "csrf_token": token}, content_type="multipart/form-data")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "登记表.pdf 不是 CSV 或 XLSX 文件（文件名须以 .csv, .xlsx, .xlsm 结尾）" in html
    assert "请选择文件" not in html
    empty = client.post("/paper/import", data={"csrf_token": token}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "请选择文件" in empty.get_data(as_text=True)


def test_a_register_over_the_limit_is_told_the_limit(paper_home: Path, login) -> None:
    """413 said only "the request is too large", not how large an upload may be."""
    from repository.web.views.paper import REGISTER_LIMIT

    client = login(paper_home, "jianye")
    token = TOKEN.search(client.get("/paper").get_data(as_text=True)).group(1)
    refused = client.post("/paper/import", data={"register": (io.BytesIO(b"a" * (REGISTER_LIMIT + 1)), "big.csv"),
                                                 "csrf_token": token}, content_type="multipart/form-data")
    assert refused.status_code == 413
    assert "请求过大：一次上传不得超过 32.0 MB" in refused.get_data(as_text=True)


def test_the_worklist_names_each_division(demo, paper_home: Path, login, ph) -> None:  # noqa: ANN001
    """The worklist gave a finding's division as a bare nine-digit code (the counts above it name them)."""
    from repository.demo.paper import plant, register_csv, register_of
    from repository.divisions import tree_for
    from repository.home import Repository
    from repository.services.paper import import_register

    rows, _ = plant(register_of(demo.root))
    with Repository.open(paper_home) as repo:
        import_register(repo, data=register_csv(rows), name="planted.csv")
        tree = tree_for(repo.cfg)
    ph.store_reconciliation(paper_home)
    html = login(paper_home, "admin").get("/paper").get_data(as_text=True)
    worklist = html.split('id="paper-worklist"', 1)[1].split("</table>", 1)[0]
    cells = [re.findall(r"<td>(.*?)</td>", row)[1] for row in worklist.split('<tr class="severity-')[1:]]
    assert cells
    for cell in cells:
        code = re.search(r"<code>(\d+)</code>", cell)
        assert code is not None, cell
        known = tree.get(code.group(1))
        assert known is not None and cell.startswith(f"{known.name} <code>"), cell
