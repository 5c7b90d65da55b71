"""Playbook files that are wrong say where and why: YAML errors at the right line with the
parser's reason, unknown fields (at any depth) with "did you mean", repeated keys; and a
private playbook whose announcement channel can never be used is flagged by check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.domain.severity import SeverityScale
from bot.playbooks import PlaybookError, PlaybookProblem, load_playbooks
from tests.cli_support import PLAYBOOKS, warroom

SCALE = SeverityScale.parse("SEV1,SEV2,SEV3,SEV4")
BASE = """\
name: x
description: d
roles:
  commander:
    label: IC
  comms:
    label: Comms
"""


def problems(tmp_path: Path, text: str) -> list[PlaybookProblem]:
    folder = tmp_path / "playbooks"
    folder.mkdir(exist_ok=True)
    (folder / "p.yaml").write_text(textwrap.dedent(text))
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(folder, severities=SCALE)
    return caught.value.problems


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            "name: x\nroles: [commander,\n  comms: {\n",
            3,  # the last line: where the unclosed brackets leave off
            "while parsing a flow node: expected the node content, but found '<stream end>'",
        ),
        ('name: x\ndescription: "never closed\n', 2, "while scanning a quoted scalar"),
        (
            "name: x\nmatch:\n  keywords: [a,\n  oops: [b]\nroles: {}\n",
            5,
            "while parsing a flow sequence that starts on line 3: expected ',' or ']'",
        ),
        ("name: x\n description: d\n", 2, "mapping values are not allowed here"),
        ("name: x\nroles:\n\tcommander: {}\n", 3, "(indent with spaces, not tabs)"),
        (BASE + "name: y\n", 8, "key `name` appears twice (first on line 1)"),
        (BASE.replace("    label: Comms", "    label: Comms\n    label: Lead"), 8, "appears twice"),
    ],
)
def test_yaml_errors_name_the_line_and_the_parsers_reason(
    tmp_path: Path, text: str, line: int, reason: str
):
    [problem] = problems(tmp_path, text)
    assert problem.line == line
    assert problem.reason.startswith("not valid YAML: ")
    assert reason in problem.reason
    assert str(problem).startswith(f"p.yaml:{line}: not valid YAML: ")


# An unknown key in each model of the schema, and the field it should have been.
@pytest.mark.parametrize(
    ("extra", "line", "field", "meant"),
    [
        ("update_cadense: {SEV1: 15m}\n", 8, "update_cadense", "update_cadence"),
        ("match:\n  keyword: [db]\n", 9, "match.keyword", "keywords"),
        ("reminders:\n  escalate_too: [x]\n", 9, "reminders.escalate_too", "escalate_to"),
        ("checklist:\n  - text: a\n  - text: b\n    aftr: 5m\n", 11, "checklist[1].aftr", "after"),
        ("channel:\n  privat: true\n", 9, "channel.privat", "private"),
        (
            "matrix:\n  impact: [h]\n  urgncy: [h]\n  severity: {h: {h: SEV1}}\n",
            10,
            "matrix.urgncy",
            "urgency",
        ),
        ("alerts:\n  - severity_mapp: {}\n", 9, "alerts[0].severity_mapp", "severity_map"),
    ],
)
def test_unknown_fields_say_did_you_mean_at_their_line(
    tmp_path: Path, extra: str, line: int, field: str, meant: str
):
    found = problems(tmp_path, BASE + extra)
    unknown = [p for p in found if p.field == field]
    assert [(p.line, p.reason) for p in unknown] == [
        (line, f"is not a field here; did you mean `{meant}`?")
    ]


def test_a_role_field_typo_is_named_in_place(tmp_path: Path):
    found = problems(tmp_path, BASE.replace("    label: IC", "    lable: IC"))
    assert [str(p) for p in found] == [
        "p.yaml:4: field `roles.commander.label` is required",
        "p.yaml:5: field `roles.commander.lable` is not a field here; did you mean `label`?",
    ]


def test_an_unknown_field_with_nothing_close_lists_the_fields(tmp_path: Path):
    [problem] = problems(tmp_path, BASE + "channel:\n  colour: red\n")
    assert problem.reason == "is not a field here; the fields are name_template, private"


def test_check_flags_a_private_playbook_with_an_announcement_channel(tmp_path: Path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    text = (PLAYBOOKS / "security-incident.yaml").read_text()
    (folder / "security.yaml").write_text(text + "announce_channel: security-incidents\n")
    (folder / "default.yaml").write_text((PLAYBOOKS / "default.yaml").read_text())
    out = warroom(tmp_path, "check", playbooks=folder)
    assert out.returncode == 0, out.stderr
    assert (
        "warning: playbook security-incident: announce_channel `security-incidents` is never "
        "used: its incidents are private (channel.private: true), and private incidents are "
        "not announced; remove it, or make the playbook public"
    ) in out.stderr.splitlines()
    assert out.stdout.rstrip().endswith("warroom check: passed, 1 warning")


def test_the_shipped_playbooks_check_without_a_warning(tmp_path: Path):
    out = warroom(tmp_path, "check")
    assert (out.returncode, out.stderr) == (0, "")
