"""The Jinja2 environment: every bot message is rendered from a template.

Defaults ship in `bot/templates/`; a file of the same name in the playbooks' `templates/`
folder overrides it. Templates are user-editable, so they run in a sandbox, and an
undefined variable is an error rather than an empty string.

A message template may define blocks `header`, `text` and `context`; anything outside
blocks is ignored when blocks exist. A template without blocks renders as the text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    BaseLoader,
    BytecodeCache,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
)
from jinja2.bccache import Bucket
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.domain.durations import humanize
from bot.markup import channel_link, mention
from bot.port import Button, Field, RichMessage


class TemplateProblem(Exception):
    """A template failed to load or render; the message names the template."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, remembering its verdict on each (type, attribute) pair.

    Jinja's checks (`is_internal_attribute`, `modifies_known_mutable`) depend only on the
    object's type and the attribute's name, so the verdict is the same every time; a
    postmortem of 20,000 entries asks it ~80,000 times."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = super().is_safe_attribute(obj, attr, value)
            self._verdicts[key] = verdict
        return verdict


class _Compiled(BytecodeCache):
    """Compiled templates kept for the process, by name and source checksum: every
    Renderer of the process (one per app, and the one `load_configuration` checks)
    compiles each template once."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(f"{bucket.key}:{bucket.checksum}")
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[f"{bucket.key}:{bucket.checksum}"] = bucket.bytecode_to_string()


_COMPILED = _Compiled()


class Renderer:
    def __init__(self, *, override_dir: Path | None = None, timezone: str = "UTC") -> None:
        loaders: list[BaseLoader] = []
        if override_dir is not None and override_dir.is_dir():
            loaders.append(FileSystemLoader(str(override_dir)))
        loaders.append(PackageLoader("bot", "templates"))
        self.tz = ZoneInfo(timezone)
        self.env = _Sandbox(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            bytecode_cache=_COMPILED,
        )
        filters: dict[str, Callable[..., Any]] = {
            "mention": _mention,
            "channel": channel_link,
            "duration": humanize,
            "utc": lambda d: _fmt(d, None),
            "local": lambda d: _fmt(d, self.tz),
            "plural": lambda n, word: f"{n} {word}{'' if n == 1 else 's'}",
        }
        self.env.filters.update(filters)
        self._cache: dict[str, Template] = {}

    def _template(self, name: str) -> Template:
        tpl = self._cache.get(name)
        if tpl is None:
            try:
                tpl = self.env.get_template(name)
            except TemplateError as exc:
                raise TemplateProblem(f"template {name}: {exc}") from exc
            self._cache[name] = tpl
        return tpl

    def warm(self) -> None:
        """Load every template now, at start, rather than inside the first command that
        renders it (from the process's compiled code when another Renderer compiled it)."""
        for name in self.env.list_templates(extensions=["j2"]):
            self._template(name)

    def text(self, name: str, **ctx: Any) -> str:
        try:
            return self._template(name).render(**ctx).strip()
        except TemplateError as exc:
            raise TemplateProblem(f"template {name}: {exc}") from exc

    def render_bytes(self, name: str, **ctx: Any) -> bytes:
        """Render a (large) document to UTF-8 chunk by chunk, never as one big string.

        Trailing whitespace is trimmed and the document ends with one newline."""
        out = bytearray()
        try:
            for chunk in self._template(name).generate(**ctx):
                out += chunk.encode("utf-8")
        except TemplateError as exc:
            raise TemplateProblem(f"template {name}: {exc}") from exc
        while out and out[-1:].isspace():  # trim in place: no second copy of the document
            del out[-1]
        out += b"\n"
        return bytes(out)

    def string(self, source: str, *, origin: str, **ctx: Any) -> str:
        """Render an inline template (a playbook's comms text)."""
        try:
            return self.env.from_string(source).render(**ctx).strip()
        except TemplateError as exc:
            raise TemplateProblem(f"{origin}: {exc}") from exc

    def message(
        self,
        name: str,
        *,
        fields: tuple[Field, ...] = (),
        buttons: tuple[Button, ...] = (),
        colour: str = "",
        **ctx: Any,
    ) -> RichMessage:
        tpl = self._template(f"{name}.j2")
        try:
            if not tpl.blocks:
                return RichMessage(
                    text=tpl.render(**ctx).strip(), fields=fields, buttons=buttons, colour=colour
                )
            context = tpl.new_context(ctx)
            parts = {
                block: "".join(render(context)).strip() for block, render in tpl.blocks.items()
            }
        except TemplateError as exc:
            raise TemplateProblem(f"template {name}.j2: {exc}") from exc
        return RichMessage(
            header=parts.get("header", ""),
            text=parts.get("text", ""),
            context=parts.get("context", ""),
            fields=fields,
            buttons=buttons,
            colour=colour,
        )


def _mention(user: Any) -> str:
    if user is None or user == "":
        return "_unassigned_"
    if hasattr(user, "user_id"):
        return mention(user.user_id) if user.user_id else "_unassigned_"
    if getattr(user, "id", None) == "" and getattr(user, "name", ""):
        return f"**{user.name}**"  # not a person on the platform (a monitoring source)
    return mention(getattr(user, "id", None) or str(user))


def _fmt(value: datetime | timedelta | None, tz: ZoneInfo | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, timedelta):
        return humanize(value)
    if tz is None:
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
