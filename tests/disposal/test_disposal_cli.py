"""``hsar disposal`` through click's runner: due, propose, self-approval refused, approve, list, reject."""

from __future__ import annotations

import json
import re
import subprocess

from click.testing import CliRunner

from repository.cli import cli
from repository.preservation.ids import object_id
from repository.preservation.tombstone import SIGNATURE_FILE, TOMBSTONE_FILE, tombstone_dir

LATER = "2060-01-01"


def hsar(home, *args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), *args], prog_name="hsar")


def test_two_people_dispose_from_the_shell(home, plan):
    due = hsar(home, "disposal", "due", "--json", "--today", LATER)
    assert due.exit_code == 0, due.output
    assert {d["archive_id"] for d in json.loads(due.output)} == {plan.leaving, plan.unit}
    text = hsar(home, "--lang", "en", "disposal", "due", "--today", LATER, "--user", "carol")
    assert text.exit_code == 0 and "no archive's retention has ended" in text.output

    made = hsar(home, "disposal", "propose", plan.unit, "--reason", "期满鉴定", "--user", "alice", "--json",
                "--today", LATER)
    assert made.exit_code == 0, made.output
    proposal = str(json.loads(made.output)["id"])
    early = hsar(home, "disposal", "propose", plan.staying, "--reason", "x", "--user", "alice", "--today", LATER)
    assert early.exit_code == 1 and "[DSP-NOT-DUE]" in early.output

    own = hsar(home, "disposal", "approve", proposal, "--user", "alice", "--today", LATER)
    assert own.exit_code == 1 and "[DSP-SELF]" in own.output and "Traceback" not in own.output
    assert (home / "storage").is_dir() and not tombstone_dir(home / "storage", object_id(plan.unit)).exists()

    done = hsar(home, "--lang", "en", "disposal", "approve", proposal, "--user", "bob", "--today", LATER)
    assert done.exit_code == 0, done.output
    assert "removed from the store, every replica, the catalogue and the search index" in done.output
    where = tombstone_dir(home / "storage", object_id(plan.unit))
    checked = subprocess.run(["openssl", "cms", "-verify", "-binary", "-CAfile", str(home / "keys" / "ca.pem"),
                              "-content", str(where / TOMBSTONE_FILE), "-in", str(where / SIGNATURE_FILE),
                              "-inform", "DER", "-out", "/dev/null"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr

    shown = hsar(home, "--lang", "en", "show", plan.unit)
    assert shown.exit_code == 1 and "[DSP-DISPOSED]" in shown.output and "approved by bob" in shown.output
    assert re.search(r"disposed of on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00 ", shown.output)  # Beijing time
    unit_sip = next(p for p in plan.sips.iterdir() if p.name.endswith(f"-unit-{plan.unit}"))
    again_in = hsar(home, "ingest", "--json", str(unit_sip))
    assert again_in.exit_code == 1 and json.loads(again_in.output)["status"] == "rejected"
    assert [i["code"] for i in json.loads(again_in.output)["issues"]] == ["DSP005"]
    listed = hsar(home, "disposal", "list", "--json", "--state", "disposed")
    (row,) = json.loads(listed.output)
    assert (row["proposed_by"], row["decided_by"], row["state"]) == ("alice", "bob", "disposed")
    listed_text = hsar(home, "disposal", "list").output
    assert "已销毁" in listed_text
    assert re.search(r"申请人 alice  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00  办理人 bob  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00",
                     listed_text), listed_text

    again = hsar(home, "disposal", "propose", plan.leaving, "--reason", "期满", "--user", "bob", "--today", LATER)
    second = next(p for p in json.loads(hsar(home, "disposal", "list", "--json").output) if p["state"] == "pending")
    rejected = hsar(home, "disposal", "reject", str(second["id"]), "--user", "root", "--note", "仍需保存")
    assert again.exit_code == 0 and rejected.exit_code == 0, rejected.output
    assert hsar(home, "show", plan.leaving).exit_code == 0  # rejected: nothing removed
    nobody = hsar(home, "disposal", "propose", plan.leaving, "--reason", "x", "--user", "dave", "--today", LATER)
    assert nobody.exit_code == 1 and "[DSP-USER]" in nobody.output
