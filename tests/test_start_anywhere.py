"""`warroom` started outside the repo: without WARROOM_PLAYBOOKS_DIR it uses
./playbooks when the working directory has one, else the playbooks shipped with it; a
folder that is not there is named, with the setting. Real subprocesses, in scratch
working directories."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli_support import PLAYBOOKS, one_line, warroom

SHIPPED = sorted(p.stem for p in PLAYBOOKS.glob("*.yaml"))


def test_check_demo_and_run_find_the_shipped_playbooks(tmp_path: Path):
    checked = warroom(tmp_path, "check", playbooks=None)
    assert checked.returncode == 0, checked.stderr
    assert f"ok: {len(SHIPPED)} playbooks ({', '.join(SHIPPED)})" in checked.stdout

    demo = warroom(tmp_path, "demo", playbooks=None)
    assert demo.returncode == 0, demo.stderr
    assert "✅ Resolved · INC-1" in demo.stdout

    run = warroom(tmp_path, "run", stdin="/incident declare SEV2 Disk full\n", playbooks=None)
    assert run.returncode == 0, run.stderr
    assert "Declared **INC-1** (SEV2): Disk full" in run.stdout
    assert "Traceback" not in checked.stderr + demo.stderr + run.stderr


def test_a_playbooks_folder_in_the_working_directory_comes_first(tmp_path: Path):
    local = tmp_path / "playbooks"
    local.mkdir()
    shutil.copy(PLAYBOOKS / "default.yaml", local / "default.yaml")
    out = warroom(tmp_path, "check", playbooks=None)
    assert out.returncode == 0, out.stderr
    assert "ok: 1 playbooks (default)" in out.stdout

    (local / "default.yaml").write_text("name: default\n")
    checked = warroom(tmp_path, "check", playbooks=None)
    assert checked.returncode == 1
    source = f"{local} (found in the working directory; WARROOM_PLAYBOOKS_DIR chooses another)"
    assert f"ok: playbooks from {source}" in checked.stdout
    assert "problem: default.yaml: field `roles` is required" in checked.stderr
    run = warroom(tmp_path, "run", playbooks=None)
    assert run.returncode == 1
    assert run.stderr.startswith(f"warroom: 2 problem(s) in {source}:\n")


def test_a_missing_chosen_folder_is_named_with_the_setting(tmp_path: Path):
    said = f"setting WARROOM_PLAYBOOKS_DIR: there is no folder {tmp_path / 'nowhere'}"
    for command in ("run", "demo"):
        out = warroom(tmp_path, command, playbooks=Path("nowhere"))
        assert out.returncode == 2
        assert one_line(out.stderr) == f"warroom: {said}"
    checked = warroom(tmp_path, "check", playbooks=Path("nowhere"))
    assert checked.returncode == 1
    assert f"problem: {said}\n" in checked.stderr
