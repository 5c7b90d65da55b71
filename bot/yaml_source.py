"""Reading a YAML file so that problems can name lines: its data, the line of every
key and list item, and YAML errors as a line and the parser's reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import yaml

KeyPath = tuple[str | int, ...]


class YamlProblem(Exception):
    """The text is not valid YAML (or repeats a key): `line` (1-based) and `reason`."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass
class YamlSource:
    data: object
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of `path` (keys and list indices), or of its nearest ancestor that has
        one; None for the top level."""
        parts = tuple(path)
        while parts:
            found = self.lines.get(parts)
            if found is not None:
                return found
            parts = parts[:-1]
        return None


def read_yaml(text: str) -> YamlSource:
    """Parse `text` (safe YAML); raises `YamlProblem` for a syntax error or a repeated key."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        raise _problem(exc, last_line=max(1, len(text.rstrip().splitlines()))) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, str(exc)) from None
    finally:
        loader.dispose()
    source = YamlSource(data)
    if root is not None:
        _index(root, (), source.lines, set())
    return source


def _problem(exc: yaml.MarkedYAMLError, *, last_line: int) -> YamlProblem:
    mark, problem = exc.problem_mark, exc.problem or "unreadable"
    line = mark.line + 1 if mark is not None else None
    began = exc.context_mark.line + 1 if exc.context_mark is not None else None
    if began is not None and "end of stream" in problem:
        line = began  # where the unfinished thing began, not the end of the file
    # Never the empty line after the text.
    line = min(line, last_line) if line is not None else None
    began = min(began, last_line) if began is not None else None
    context = exc.context or ""
    if context and began is not None and began != line:
        context += f" that starts on line {began}"
    reason = f"{context}: {problem}" if context else problem
    if "'\\t'" in problem:
        reason += " (indent with spaces, not tabs)"
    return YamlProblem(line, reason)


def _index(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], seen: set[int]) -> None:
    if id(node) in seen:  # an alias: its lines were recorded where it was defined
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            line = key.start_mark.line + 1
            if name in first and name != "<<":
                raise YamlProblem(line, f"key `{name}` appears twice (first on line {first[name]})")
            first[name] = line
            lines[(*path, name)] = line
            _index(value, (*path, name), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _index(item, (*path, i), lines, seen)
