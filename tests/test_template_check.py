"""Templates are checked before an incident needs them: a misspelled variable, an unknown
filter or test (in any branch), a syntax error, a filter given the wrong kind of value,
in a message template override, a postmortem template or a comms template, is reported
once with its line, by `check` and at the start of `run`. The sample incidents the check
renders with are held to what the code really passes."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters.console.demo import run_demo
from bot.alerts.model import Alert
from bot.config import Settings
from bot.events import AlertsReceived
from bot.playbooks import load_playbooks
from bot.port import ChannelRef, UserRef
from bot.render import Renderer
from bot.template_check import check_templates
from bot.template_samples import comms_context, contexts, incident_view
from tests.cli_support import PLAYBOOKS, warroom
from tests.conftest import Console, make_settings

SCALE = Settings(_env_file=None).severity_scale


def playbooks_with(tmp_path: Path, **templates: str) -> Path:
    """A copy of the shipped playbooks with these template overrides (name → source)."""
    folder = tmp_path / "playbooks"
    (folder / "templates").mkdir(parents=True)
    for pb in PLAYBOOKS.glob("*.yaml"):
        (folder / pb.name).write_text(pb.read_text())
    for name, source in templates.items():
        (folder / "templates" / name.replace("__", ".")).write_text(source)
    return folder


def problems_in(folder: Path) -> list[str]:
    playbooks = load_playbooks(folder, severities=SCALE)
    renderer = Renderer(override_dir=folder / "templates")
    return check_templates(renderer, playbooks, command="incident")


def test_the_shipped_templates_pass():
    assert problems_in(PLAYBOOKS) == []


@pytest.mark.parametrize(
    ("name", "source", "said"),
    [
        (
            "card.j2",
            "{{ incident.titel }}",
            "line 1: 'bot.views.IncidentView object' has no attribute 'titel'",
        ),
        (
            "status_changed.j2",
            "x\n{{ actr | mention }}",
            "line 2: unknown variable `actr`; did you mean `actor`?",
        ),
        ("topic.j2", "{% if false %}{{ nope }}{% endif %}", "line 1: unknown variable `nope`"),
        (
            "topic.j2",
            "{% if false %}{{ incident.ref | uper }}{% endif %}",
            "line 1: unknown filter `uper`; did you mean `upper`?",
        ),
        (
            "topic.j2",
            "{% if incident is evenn %}x{% endif %}",
            "line 1: unknown test `evenn`; did you mean `even`?",
        ),
        (
            "note_added.j2",
            "ok\n{% if %}",
            "line 2: Expected an expression, got 'end of statement block'",
        ),
        (
            "update.j2",
            "{{ text | duration }}",
            "line 1: AttributeError: 'str' object has no attribute 'total_seconds'",
        ),
        (
            "summary.j2",
            "{% for c in summary.changez %}{{ c }}{% endfor %}",
            "has no attribute 'changez'",
        ),
    ],
)
def test_a_broken_override_is_named_with_its_line(tmp_path, name, source, said):
    folder = playbooks_with(tmp_path, **{name.replace(".", "__"): source})
    [problem] = problems_in(folder)
    assert problem.startswith(f"template {name} ({folder / 'templates' / name}) line ")
    assert problem.endswith(said)


def test_a_broken_postmortem_template_is_reported_once(tmp_path):
    folder = playbooks_with(tmp_path, postmortem__md__j2="# {{ title }}\n{% for x in %}")
    assert problems_in(folder) == [
        f"template postmortem.md.j2 ({folder / 'templates' / 'postmortem.md.j2'}) line 2: "
        "Expected an expression, got 'end of statement block'"
    ]


def test_a_misspelled_postmortem_variable_and_a_missing_postmortem_file(tmp_path):
    folder = playbooks_with(tmp_path, postmortem__md__j2="# {{ titel }}\n")
    text = (folder / "security-incident.yaml").read_text()
    (folder / "security-incident.yaml").write_text(
        text.replace("postmortem_template: postmortem.md.j2", "postmortem_template: review.md.j2")
    )
    assert problems_in(folder) == [
        f"template postmortem.md.j2 ({folder / 'templates' / 'postmortem.md.j2'}) line 1: "
        "'titel' is undefined",
        "playbook security-incident: postmortem_template `review.md.j2` does not exist",
    ]


def test_a_comms_template_is_rendered_too(tmp_path):
    folder = playbooks_with(tmp_path)
    text = (folder / "security-incident.yaml").read_text()
    broken = text.replace("Details are restricted", "{{ latest_updat }} Details are restricted")
    (folder / "security-incident.yaml").write_text(broken)
    assert problems_in(folder) == [
        "playbook security-incident: comms.internal_update line 2: unknown variable "
        "`latest_updat`; did you mean `latest_update`?"
    ]


def test_check_and_run_stop_on_a_broken_template_and_say_it_once(tmp_path):
    folder = playbooks_with(tmp_path, postmortem__md__j2="{{ incident.ref | nosuch }}")
    line = (
        f"template postmortem.md.j2 ({folder / 'templates' / 'postmortem.md.j2'}) line 1: "
        "unknown filter `nosuch`"
    )
    checked = warroom(tmp_path, "check", playbooks=folder)
    assert checked.returncode == 1
    assert [x for x in checked.stderr.splitlines() if "postmortem" in x] == [f"problem: {line}"]
    run = warroom(tmp_path, "run", stdin="/incident declare SEV2 x\n", playbooks=folder)
    assert run.returncode == 1
    assert [x for x in run.stderr.splitlines() if "postmortem.md.j2 (" in x] == [f"  {line}"]
    assert "Declared" not in run.stdout


# The samples are what the code passes: record every render while real incidents run.
@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[frozenset[str]]]:
    seen: dict[str, set[frozenset[str]]] = {}
    not_variables = {"fields", "buttons", "colour"}

    def spy(method: str, suffix: str) -> None:
        real = getattr(Renderer, method)

        def recording(self: Renderer, name: str, *args: Any, **ctx: Any) -> Any:
            key = (
                name + suffix if method == "message" else ("comms" if method == "string" else name)
            )
            seen.setdefault(key, set()).add(frozenset(ctx) - not_variables - {"origin"})
            return real(self, name, *args, **ctx)

        monkeypatch.setattr(Renderer, method, recording)

    spy("message", ".j2")
    spy("text", "")
    spy("string", "")
    return seen


async def test_the_samples_give_each_template_what_the_code_gives_it(
    rendered: dict[str, set[frozenset[str]]], console: Console, tmp_path: Path
):
    await run_demo(make_settings(tmp_path), io.StringIO())
    s = console.session
    s.as_user("alice")
    s.go("general")
    for text in ("/incident help", "/incident help declare", "/incident nope"):
        await s.send(text)
    await s.send("/incident declare SEV2 Disk full --playbook security-incident")
    s.go("sec-1-disk-full")
    for text in (
        "/incident task add Free space @bob",
        "/incident task done 1",
        "/incident tasks",
        "/incident timeline",
        "/incident note looked at it",
        "/incident comms internal_update",
        "/incident list",
        "/incident resolve fixed",
        "/incident reopen",
    ):
        await s.send(text)
    for key in ("fp-1", "fp-2"):  # the second joins the incident the first declared
        alert = Alert(
            source="alertmanager",
            key=key,
            status="firing",
            title="High error rate on checkout",
            group="checkout-errors",
            labels={"alertname": "HighErrorRate", "severity": "critical"},
            severity="critical",
        )
        event = AlertsReceived(
            key=uuid.uuid4().hex,
            user=UserRef("alertmanager", "Alertmanager"),
            channel=ChannelRef(""),
            source="alertmanager",
            alerts=(alert,),
        )
        await console.app.bot.handle(event)

    playbook = console.app.playbooks.by_name["default"]
    samples = [set(v) for v in contexts(playbook, command="incident")]
    given = {
        name: {frozenset(ctx) for ctx in (v[name] for v in contexts(playbook, command="incident"))}
        for name in samples[0]
    }
    given["comms"] = {
        frozenset(comms_context(incident_view(full=True, playbook=playbook), playbook))
    }
    unsampled = {"postmortem.md.j2"}  # rendered by compile_postmortem, checked by rendering
    for name, keys in rendered.items():
        if name in unsampled:
            continue
        assert name in given, f"{name} is rendered but has no sample in bot/template_samples.py"
        assert keys == given[name], f"{name}: the code gives {keys}, the sample {given[name]}"
    missing = set(given) - set(rendered) - {"apology.j2", "effect_failed.j2"}
    assert not missing, f"the scenario rendered no {sorted(missing)}"
