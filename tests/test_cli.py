"""The `warroom` command, run as a real subprocess in an empty working directory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from bot import __version__
from tests.cli_support import PLAYBOOKS, warroom


def playbooks_with(tmp_path: Path, **edits: object) -> Path:
    """A copy of the repo's default playbook with top-level fields replaced or removed (None)."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    data = yaml.safe_load((PLAYBOOKS / "default.yaml").read_text())
    for key, value in edits.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    (folder / "broken.yaml").write_text(yaml.safe_dump(data))
    return folder


def test_version(tmp_path):
    out = warroom(tmp_path, "--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"warroom {__version__}"


def test_help_lists_the_commands(tmp_path):
    out = warroom(tmp_path, "--help")
    assert out.returncode == 0
    for command in ("run", "console", "demo", "check", "db", "incidents"):
        assert command in out.stdout
    assert list(tmp_path.iterdir()) == []


def test_check_accepts_the_repo_playbooks(tmp_path):
    out = warroom(tmp_path, "check")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok: ")
    for name in ("customer-facing-outage", "default", "security-incident"):
        assert name in out.stdout


@pytest.mark.parametrize("missing", ["roles", "description"])
def test_check_names_the_file_and_a_missing_field(tmp_path, missing):
    out = warroom(tmp_path, "check", playbooks=playbooks_with(tmp_path, **{missing: None}))
    assert out.returncode != 0
    assert f"broken.yaml: field `{missing}` is required" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_check_names_a_missing_required_role(tmp_path):
    folder = playbooks_with(tmp_path, roles={"commander": {"label": "IC"}})
    out = warroom(tmp_path, "check", playbooks=folder)
    assert out.returncode != 0
    assert "broken.yaml" in out.stderr and "`roles`" in out.stderr and "comms" in out.stderr
    assert "Traceback" not in out.stderr


def test_check_reports_invalid_yaml(tmp_path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "bad.yaml").write_text("name: bad\nroles: [commander,\n  comms: {\n")
    out = warroom(tmp_path, "check", playbooks=folder)
    assert out.returncode != 0
    assert "bad.yaml" in out.stderr and "not valid YAML" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_bad_setting_is_named_without_a_traceback(tmp_path):
    out = warroom(tmp_path, "check", WARROOM_TIMEZONE="Mars/Olympus_Mons")
    assert out.returncode == 2
    assert "WARROOM_TIMEZONE" in out.stderr
    assert "Traceback" not in out.stderr


def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path):
    first = warroom(tmp_path, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "database at revision" in first.stdout
    with sqlite3.connect(tmp_path / "warroom.db") as conn:
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"incident", "timeline_entry", "alembic_version"} <= tables
    second = warroom(tmp_path, "db", "upgrade")
    assert (second.returncode, second.stdout) == (0, first.stdout)


def test_db_upgrade_refuses_a_newer_schema(tmp_path):
    assert warroom(tmp_path, "db", "upgrade").returncode == 0
    with sqlite3.connect(tmp_path / "warroom.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff_newer'")
    out = warroom(tmp_path, "db", "upgrade")
    assert out.returncode == 1
    assert "ffff_newer" in out.stderr and "Traceback" not in out.stderr


def test_console_from_stdin_then_incidents_list(tmp_path):
    empty = warroom(tmp_path, "incidents", "list")
    assert (empty.returncode, empty.stdout.strip()) == (0, "no open incidents")

    out = warroom(tmp_path, "console", stdin="/incident declare SEV2 Checkout errors\n")
    assert out.returncode == 0, out.stderr
    assert "Declared **INC-1** (SEV2): Checkout errors" in out.stdout
    assert "Join the response in #inc-1-checkout-errors." in out.stdout
    assert "▌ INC-1 · Checkout errors" in out.stdout
    assert "Traceback" not in out.stderr

    listed = warroom(tmp_path, "incidents", "list")
    assert listed.returncode == 0
    [line] = listed.stdout.splitlines()
    assert line.startswith("INC-1") and "SEV2" in line and "#inc-1-checkout-errors" in line


def test_demo_plays_an_incident_from_declare_to_resolve(tmp_path):
    out = warroom(tmp_path, "demo")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "#inc-1-checkout-errors-for-eu-customers" in text
    assert "▌ INC-1 · Checkout errors for EU customers" in text
    assert "[Take commander] [Take comms] [Post update] [Resolve]" in text
    assert "Comms lead: @bob" in text
    assert "made @carol **Incident commander**" in text
    assert "#incidents [" in text and "incident declared · INC-1" in text
    assert "Root cause identified: a bad gateway config" in text
    assert "Error rate back to normal for 30 minutes; monitoring." in text
    assert "changed severity **SEV3 → SEV2**" in text
    assert "✅ Resolved · INC-1 · Checkout errors for EU customers" in text
    assert "Status: **resolved**" in text
    assert "Traceback" not in out.stderr


def test_run_without_tokens_explains_and_runs_the_console(tmp_path):
    out = warroom(tmp_path, "run", stdin="/incident declare SEV3 Login slow\n/incident list\n")
    assert out.returncode == 0, out.stderr
    hint_end = out.stdout.index("WARROOM_DISCORD_TOKEN")
    assert "WARROOM_SLACK_BOT_TOKEN" in out.stdout[:hint_end]
    assert "No chat tokens are configured" in out.stdout[:hint_end]
    assert out.stdout.index("**INC-1** SEV3 · investigating · Login slow") > hint_end
    assert out.stdout.rstrip().endswith("bye")
