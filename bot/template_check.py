"""Templates checked before an incident needs them: every message template (shipped or
overridden), every postmortem template a playbook names and every comms template is
parsed, searched for unknown filters and variables in all its branches, and rendered
against the sample incidents of `bot.template_samples`. Each problem is reported once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError, meta, nodes

from bot.domain.suggest import closest
from bot.playbook import Playbook
from bot.playbooks import PlaybookSet
from bot.postmortem import compile_postmortem
from bot.render import Renderer, TemplateProblem
from bot.template_samples import comms_context, contexts, incident_view, timeline

DEFAULT_POSTMORTEM = "postmortem.md.j2"


class _Problems:
    def __init__(self) -> None:
        self.found: dict[str, None] = {}  # ordered, each text once

    def add(self, where: str, line: int | None, text: str) -> None:
        self.found.setdefault(f"{where}{f' line {line}' if line else ''}: {text}")


# Verdicts by everything they depend on: a process that builds many apps from the same
# files (the tests, replicas in one process) checks them once.
_VERDICTS: dict[tuple[object, ...], list[str]] = {}
_KEEP = 16


def check_templates(renderer: Renderer, playbooks: PlaybookSet, *, command: str) -> list[str]:
    """Every problem in the templates, one line each ([] when there is none)."""
    key = _fingerprint(renderer, playbooks, command)
    verdict = _VERDICTS.get(key)
    if verdict is None:
        verdict = _check(renderer, playbooks, command=command)
        if len(_VERDICTS) >= _KEEP:
            _VERDICTS.pop(next(iter(_VERDICTS)))
        _VERDICTS[key] = verdict
    return list(verdict)


def _fingerprint(renderer: Renderer, playbooks: PlaybookSet, command: str) -> tuple[object, ...]:
    env = renderer.env
    sources = []
    for name in sorted(set(env.list_templates(extensions=["j2"]))):
        source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        sources.append((name, filename, source))
    books = tuple(pb.model_dump_json() for pb in playbooks.by_name.values())
    return (command, str(renderer.tz), tuple(sources), books)


def _check(renderer: Renderer, playbooks: PlaybookSet, *, command: str) -> list[str]:
    problems = _Problems()
    sample = playbooks.by_name.get("default") or next(iter(playbooks.by_name.values()))
    variants = list(contexts(sample, command=command))
    postmortems = {
        DEFAULT_POSTMORTEM,
        *(pb.postmortem_template for pb in playbooks.by_name.values()),
    }
    for name in sorted(set(renderer.env.list_templates(extensions=["j2"])) - postmortems):
        given = [v[name] for v in variants if name in v]
        _check_file(renderer, problems, name, given)
    for name in sorted(postmortems):
        users = [pb.name for pb in playbooks.by_name.values() if pb.postmortem_template == name]
        _check_postmortem(renderer, problems, name, users, sample)
    for pb in playbooks.by_name.values():
        for key, source in pb.comms.items():
            _check_comms(renderer, problems, pb, key, source)
    return list(problems.found)


def _check_file(
    renderer: Renderer, problems: _Problems, name: str, given: list[dict[str, Any]]
) -> None:
    where, ast = _parse_file(renderer, problems, name)
    if ast is None:
        return
    if not _check_names(renderer, problems, where, ast, known=set(given[0]) if given else None):
        return  # rendering would only say the same again
    template = renderer.env.get_template(name)
    for ctx in given:
        _render(problems, where, partial(template.render, **ctx))


def _check_postmortem(
    renderer: Renderer, problems: _Problems, name: str, users: list[str], sample: Playbook
) -> None:
    where, ast = _parse_file(renderer, problems, name, users=users)
    if ast is None or not _check_names(renderer, problems, where, ast, known=None):
        return
    for full in (True, False):
        view = incident_view(full=full, playbook=sample)

        def draft(view: Any = view) -> object:
            return compile_postmortem(
                renderer,
                template=name,
                view=view,
                entries=timeline(view),
                participants=["alice", "bob"],
                severity_label="high",
                timezone=str(renderer.tz),
                generated_at=datetime(2026, 1, 1, 10, 0, tzinfo=UTC),
            )

        _render(problems, where, draft)


def _check_comms(
    renderer: Renderer, problems: _Problems, pb: Playbook, key: str, source: str
) -> None:
    where = f"playbook {pb.name}: comms.{key}"
    try:
        ast = renderer.env.parse(source)
    except TemplateSyntaxError as exc:
        problems.add(where, exc.lineno, exc.message or str(exc))
        return
    views = [incident_view(full=full, playbook=pb) for full in (True, False)]
    given = [comms_context(view, pb) for view in views]
    if not _check_names(renderer, problems, where, ast, known=set(given[0])):
        return
    template = renderer.env.from_string(source)
    for ctx in given:
        _render(problems, where, partial(template.render, **ctx))


def _parse_file(
    renderer: Renderer, problems: _Problems, name: str, *, users: Iterable[str] = ()
) -> tuple[str, nodes.Template | None]:
    env = renderer.env
    try:
        source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    except TemplateNotFound:
        for user in users:
            problems.add(f"playbook {user}", None, f"postmortem_template `{name}` does not exist")
        return name, None
    shipped = "/bot/templates/" in (filename or "").replace("\\", "/")
    where = f"template {name}" if shipped else f"template {name} ({filename})"
    try:
        return where, env.parse(source, name, filename)
    except TemplateSyntaxError as exc:
        problems.add(where, exc.lineno, exc.message or str(exc))
        return where, None


def _check_names(
    renderer: Renderer,
    problems: _Problems,
    where: str,
    ast: nodes.Template,
    *,
    known: set[str] | None,
) -> bool:
    """Unknown filters and tests anywhere, and (when the variables are `known`) unknown
    variables anywhere, including branches the samples do not take. Whether all is well."""
    env = renderer.env
    before = len(problems.found)
    for node in ast.find_all((nodes.Filter, nodes.Test)):
        table = env.filters if isinstance(node, nodes.Filter) else env.tests
        if node.name not in table:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            problems.add(where, node.lineno, _unknown(kind, node.name, table))
    if known is None:
        return len(problems.found) == before
    names = known | set(env.globals)
    for variable in sorted(meta.find_undeclared_variables(ast) - names):
        line = next(
            (n.lineno for n in ast.find_all(nodes.Name) if n.name == variable and n.ctx == "load"),
            None,
        )
        problems.add(where, line, _unknown("variable", variable, sorted(known)))
    return len(problems.found) == before


def _unknown(kind: str, name: str, choices: Iterable[str]) -> str:
    hint = closest(name, choices)
    return f"unknown {kind} `{name}`" + (f"; did you mean `{hint}`?" if hint else "")


def _render(problems: _Problems, where: str, work: Callable[[], object]) -> None:
    try:
        work()
    except TemplateProblem as exc:  # compile_postmortem wraps the Jinja error
        cause = exc.__cause__ if isinstance(exc.__cause__, TemplateError) else exc
        problems.add(where, _line(cause), _said(cause))
    except TemplateError as exc:
        problems.add(where, _line(exc), _said(exc))
    except Exception as exc:  # a filter given the wrong kind of value, say
        problems.add(where, _line(exc), f"{type(exc).__name__}: {exc}")


def _said(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


def _line(exc: BaseException) -> int | None:
    """The template line in the traceback Jinja rewrote (the last template frame)."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2") or filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line if isinstance(line, int) else None
