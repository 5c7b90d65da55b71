"""Loading and validating the playbooks folder, and choosing a playbook at declare."""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from bot.domain.severity import SeverityScale
from bot.domain.suggest import closest
from bot.errors import UserError
from bot.playbook import Playbook
from bot.yaml_source import YamlProblem, read_yaml


@dataclass(frozen=True, slots=True)
class PlaybookProblem:
    file: str
    field: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}:" if self.line else f"{self.file}:"
        where = f" field `{self.field}`" if self.field else ""
        return f"{at}{where} {self.reason}"


class PlaybookError(Exception):
    """One or more playbook files are invalid. `problems` names each file, field and reason."""

    def __init__(self, problems: list[PlaybookProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class PlaybookSet:
    def __init__(self, playbooks: dict[str, Playbook]) -> None:
        self.by_name = playbooks

    @property
    def names(self) -> list[str]:
        return sorted(self.by_name)

    def get(self, name: str) -> Playbook:
        found = self.by_name.get(name) or self.by_name.get(name.lower())
        if found is None:
            raise UserError(
                f"There is no playbook named `{name}`.",
                usage=" | ".join(self.names),
                suggestion=closest(name, self.names),
            )
        return found

    def choose(self, *, title: str, severity: str | None) -> Playbook:
        """The playbook whose match rules fit best; ties go to the default, then by name.

        Title keywords count first: a severity match only breaks a tie, so that
        "SEV1 Credential leak" goes to the playbook that names "leak", not to one that
        merely lists SEV1.
        """
        ranked = sorted(
            self.by_name.values(),
            key=lambda p: (
                -p.match.score(title=title, severity=None),
                -p.match.score(title=title, severity=severity),
                not p.match.default,
                p.name,
            ),
        )
        return ranked[0]


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_playbook(path: Path, *, severities: SeverityScale) -> Playbook:
    try:
        source = read_yaml(path.read_text(encoding="utf-8"))
    except YamlProblem as exc:
        problem = PlaybookProblem(path.name, "", f"not valid YAML: {exc.reason}", exc.line)
        raise PlaybookError([problem]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError([PlaybookProblem(path.name, "", str(exc))]) from None
    if not isinstance(source.data, dict):
        raise PlaybookError([PlaybookProblem(path.name, "", "must be a mapping of fields")])
    try:
        playbook = Playbook.model_validate(source.data)
    except ValidationError as exc:
        problems = [
            PlaybookProblem(
                path.name,
                _field_path(err["loc"]),
                _reason(err),
                source.line_of(err["loc"]),
            )
            for err in exc.errors()
        ]
        raise PlaybookError(problems) from None
    _check_severity_names(path.name, playbook, severities)
    return playbook


def _reason(err: Any) -> str:
    if err["type"] == "missing":
        return "is required"
    if err["type"] == "extra_forbidden":
        *parent, unknown = err["loc"]
        known = _fields_at(Playbook, parent)
        hint = closest(str(unknown), known)
        if hint:
            return f"is not a field here; did you mean `{hint}`?"
        return f"is not a field here; the fields are {', '.join(known)}"
    return str(err["msg"]).removeprefix("Value error, ")


def _fields_at(model: type[BaseModel], loc: list[int | str]) -> list[str]:
    """The field names of the model found by following `loc` (field names, list indices,
    mapping keys) from `model`; [] when it leads nowhere."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    models = [t for t in _members(current) if isinstance(t, type) and issubclass(t, BaseModel)]
    return list(models[0].model_fields) if models else []


def _step(annotation: Any, part: int | str) -> Any:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            found = member.model_fields.get(str(part))
            if found is not None:
                return found.annotation
        elif get_origin(member) is list and isinstance(part, int):
            return get_args(member)[0]
        elif get_origin(member) is dict:
            return get_args(member)[1]
    return None


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types of a union (`X | None`), or the type itself."""
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def _check_severity_names(file: str, pb: Playbook, severities: SeverityScale) -> None:
    problems: list[PlaybookProblem] = []
    for level in pb.update_cadence:
        if severities.find(level) is None:
            problems.append(
                PlaybookProblem(
                    file,
                    f"update_cadence.{level}",
                    f"unknown severity; levels are {severities.usage}",
                )
            )
    for level in pb.match.severities:
        if severities.find(level) is None:
            problems.append(
                PlaybookProblem(file, "match.severities", f"unknown severity {level!r}")
            )
    if pb.matrix is not None:
        for imp, row in pb.matrix.severity.items():
            for urg, level in row.items():
                if severities.find(level) is None:
                    problems.append(
                        PlaybookProblem(
                            file, f"matrix.severity.{imp}.{urg}", f"unknown severity {level!r}"
                        )
                    )
    for i, rule in enumerate(pb.alerts):
        for level in rule.levels():
            if severities.find(level) is None:
                problems.append(
                    PlaybookProblem(
                        file,
                        f"alerts[{i}]",
                        f"unknown severity {level!r}; levels are {severities.usage}",
                    )
                )
    if problems:
        raise PlaybookError(problems)


def load_playbooks(folder: Path, *, severities: SeverityScale) -> PlaybookSet:
    """Load every `*.yaml`/`*.yml` in `folder`. Collects all problems before raising."""
    if not folder.is_dir():
        raise PlaybookError([PlaybookProblem(str(folder), "", "playbooks folder not found")])
    playbooks: dict[str, Playbook] = {}
    problems: list[PlaybookProblem] = []
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    for path in files:
        try:
            pb = load_playbook(path, severities=severities)
        except PlaybookError as exc:
            problems.extend(exc.problems)
            continue
        if pb.name in playbooks:
            problems.append(PlaybookProblem(path.name, "name", f"duplicate name {pb.name!r}"))
            continue
        playbooks[pb.name] = pb
    if not files:
        problems.append(PlaybookProblem(str(folder), "", "no playbook files (*.yaml) found"))
    if problems:
        raise PlaybookError(problems)
    return PlaybookSet(playbooks)
