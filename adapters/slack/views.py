"""The forms warroom opens with views.open: declare, update and resolve.

Each view's `callback_id` is the core's modal id, and its `private_metadata` is JSON with
the channel the submission must act in (`translate.submission` reads it back). Input
`action_id`s are the keys the core reads from `ModalSubmitted.values`.
"""

from __future__ import annotations

import json
from typing import Any

from bot.domain.severity import SeverityScale

View = dict[str, Any]


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _input(
    name: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": name,
        "label": _plain(label),
        "element": {**element, "action_id": name},
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def _text_input(*, multiline: bool = False, max_length: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text[:75]), "value": value[:150]}


def _view(
    callback_id: str, title: str, submit: str, blocks: list[Any], meta: dict[str, str]
) -> View:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title[:24]),
        "submit": _plain(submit[:24]),
        "close": _plain("Cancel"),
        "private_metadata": json.dumps(meta, separators=(",", ":"))[:3000],
        "blocks": blocks,
    }


def declare(
    *,
    channel_id: str,
    severities: SeverityScale,
    playbooks: list[str],
    matrix: tuple[list[str], list[str]] | None = None,
) -> View:
    blocks: list[Any] = [
        _input(
            "title",
            "Title",
            {**_text_input(max_length=200), "placeholder": _plain("What is broken?")},
        ),
        _input(
            "severity",
            "Severity",
            {
                "type": "static_select",
                "options": [_option(f"{s.name} · {s.label}", s.name) for s in severities.levels],
            },
            optional=True,
            hint="Leave empty to let the playbook decide.",
        ),
    ]
    if matrix is not None:
        impacts, urgencies = matrix
        for name, label, levels in (
            ("impact", "Impact", impacts),
            ("urgency", "Urgency", urgencies),
        ):
            blocks.append(
                _input(
                    name,
                    label,
                    {"type": "static_select", "options": [_option(v, v) for v in levels[:100]]},
                    optional=True,
                    hint="With a playbook that has an impact × urgency matrix, these two "
                    "set the severity instead.",
                )
            )
    if playbooks:
        blocks.append(
            _input(
                "playbook",
                "Playbook",
                {"type": "static_select", "options": [_option(p, p) for p in playbooks[:100]]},
                optional=True,
                hint="Leave empty to choose from the title.",
            )
        )
    blocks += [
        _input("summary", "Summary", _text_input(multiline=True), optional=True),
        _input("commander", "Incident commander", {"type": "users_select"}, optional=True),
        _input(
            "flags",
            "Options",
            {
                "type": "checkboxes",
                "options": [
                    _option("Private incident channel", "private"),
                    _option("This is a drill", "drill"),
                ],
            },
            optional=True,
        ),
    ]
    return _view("declare", "Declare an incident", "Declare", blocks, {"channel": channel_id})


def update(*, channel_id: str, incident: str = "") -> View:
    blocks = [_input("text", "Status update", _text_input(multiline=True))]
    meta = {"channel": channel_id, "incident": incident}
    return _view("update", "Post an update", "Post", blocks, meta)


def resolve(*, channel_id: str, incident: str = "") -> View:
    blocks = [_input("summary", "Resolution summary", _text_input(multiline=True), optional=True)]
    meta = {"channel": channel_id, "incident": incident}
    return _view("resolve", "Resolve incident", "Resolve", blocks, meta)
