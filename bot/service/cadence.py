"""Commands around the response rhythm: snooze, summary, comms templates, postmortem,
and the read-in a late joiner gets."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import reminders
from bot.domain.durations import humanize
from bot.domain.status import Status
from bot.domain.suggest import closest
from bot.domain.timeline import EventKind
from bot.errors import UserError
from bot.markup import mention
from bot.port import Capability, RichMessage
from bot.render import TemplateProblem
from bot.rhythm import summary_message
from bot.service import notices
from bot.service.base import Actor, Deps, Effect, Result, load_view
from bot.service.postmortems import publish
from bot.views import incident_ref
from storage import repository as repo
from storage.tables import Incident


def _require_open(incident: Incident, doing: str) -> None:
    if not Status(incident.status).is_open:
        raise UserError(
            f"{incident_ref(incident.number)} is {incident.status}; there is nothing to {doing}."
        )


async def snooze(
    tx: AsyncSession, deps: Deps, incident: Incident, actor: Actor, *, duration: timedelta
) -> Result:
    _require_open(incident, "snooze")
    playbook = deps.playbook_for(incident)
    ref = incident_ref(incident.number)
    if playbook is None or playbook.cadence(incident.severity) is None:
        raise UserError(
            f"{ref} has no update reminders to snooze ({incident.severity} has no update "
            f"cadence in the `{incident.playbook}` playbook)."
        )
    if not reminders.wants_reminders(incident, playbook):
        raise UserError(
            f"{ref} is a drill, and the `{incident.playbook}` playbook sends no reminders "
            "for drills."
        )
    assert incident.id is not None
    item = await reminders.snooze(tx, incident, until=actor.at + duration)
    assert item.due_at is not None
    until = item.due_at
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.SNOOZED,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=f"update reminders snoozed for {humanize(duration)}",
        data={"until": until.isoformat()},
    )
    text = (
        f"😴 {mention(actor.user.id)} snoozed update reminders for {humanize(duration)} "
        f"(next reminder {until:%Y-%m-%d %H:%M} UTC)."
    )
    return Result(
        reschedule=True,
        effects=[notices.post(deps, incident, RichMessage(text=text), "announce the snooze")],
    )


async def summary(tx: AsyncSession, deps: Deps, incident: Incident, actor: Actor) -> Result:
    """`/incident summary`: what changed since the last summary, posted in the channel."""
    if incident.status == Status.CLOSED:
        raise UserError(
            f"{incident_ref(incident.number)} is closed and its channel archived; "
            f"`/{deps.options.command_name} postmortem` has the whole story."
        )
    assert incident.id is not None
    item = await reminders.summary_item(tx, incident_id=incident.id)
    view = await load_view(tx, deps, incident, with_tasks=True)
    message, cursor = await summary_message(
        tx,
        deps,
        incident,
        view,
        deps.summarizer,
        since_id=item.cursor,
        heading="manual",
        force=True,
    )
    assert message is not None
    item.cursor = cursor
    tx.add(item)
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.SUMMARY,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text="summary on request",
        data={"cursor": cursor},
    )
    return Result(effects=[notices.post(deps, incident, message, "post the summary")])


async def read_in(deps: Deps, incident_id: int, user_id: str) -> Effect:
    """A private summary of the whole incident for someone who just joined."""

    async def run() -> None:
        async with deps.db.reader() as tx:
            incident = await repo.incident_by_id(tx, incident_id=incident_id)
            if incident is None or not incident.channel_id:
                return
            view = await load_view(tx, deps, incident, with_tasks=True)
            message, _ = await summary_message(
                tx,
                deps,
                incident,
                view,
                deps.summarizer,
                since_id=0,
                heading="readin",
                force=True,
            )
        assert message is not None
        await deps.port.reply_privately(
            channel_id=incident.channel_id, user_id=user_id, message=message
        )

    return Effect("send the read-in summary", run)


async def comms(
    tx: AsyncSession,
    deps: Deps,
    incident: Incident,
    actor: Actor,
    *,
    template: str | None,
    post: bool,
) -> Result:
    playbook = deps.playbook_for(incident)
    names = sorted(playbook.comms) if playbook else []
    if template is None:
        if not names:
            raise UserError(f"The `{incident.playbook}` playbook has no comms templates.")
        listing = "\n".join(f"- `{n}`" for n in names)
        return Result(
            reply=RichMessage(
                header=f"Comms templates · {incident.playbook}",
                text=f"{listing}\n\nRender one with `/{deps.options.command_name} comms <name>`; "
                "add `--post` to publish it to the announcement channel.",
            )
        )
    if playbook is None or template not in playbook.comms:
        raise UserError(
            f"The `{incident.playbook}` playbook has no `{template}` template.",
            usage=" | ".join(names) or "(none)",
            suggestion=closest(template, names),
        )
    assert incident.id is not None
    if post and incident.status == Status.CLOSED:
        raise UserError(f"{incident_ref(incident.number)} is closed; nothing more is announced.")
    view = await load_view(tx, deps, incident, with_tasks=True)
    every = playbook.cadence(incident.severity)
    try:
        text = deps.renderer.string(
            playbook.comms[template],
            origin=f"playbook {playbook.name}: comms.{template}",
            incident=view,
            latest_update=incident.latest_update,
            cadence=humanize(every) if every else "",
            playbook=playbook.name,
        )
    except TemplateProblem as exc:
        raise UserError(f"The `{template}` template could not be rendered: {exc}") from exc
    if not post:
        return Result(
            reply=RichMessage(
                header=f"{template} · {view.ref} (only you see this)",
                text=text,
                context=f"Post it with `/{deps.options.command_name} comms {template} --post`.",
            )
        )
    if incident.private or incident.drill or not incident.announce_channel_id:
        why = (
            "private"
            if incident.private
            else "a drill"
            if incident.drill
            else "not announced anywhere"
        )
        raise UserError(f"{view.ref} is {why}, so there is no announcement channel to post to.")
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.COMMS,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=text,
        data={"template": template},
    )
    message = RichMessage(
        header=f"{view.ref} · {view.title}",
        text=text,
        context=f"{template} · posted by {actor.user.label}",
    )
    return Result(
        reply=RichMessage(text=f"Posted `{template}` to the announcement channel."),
        effects=[notices.broadcast(deps, incident, message, f"post the {template} message")],
    )


async def postmortem(deps: Deps, incident: Incident) -> Result:
    assert incident.id is not None
    ref = incident_ref(incident.number)
    export = f"`warroom postmortem {ref} -o {ref}-postmortem.md`"
    can_post = (
        Capability.FILES in deps.port.capabilities
        and incident.status != Status.CLOSED
        and incident.channel_id
    )
    where = (
        "it will be posted here as a file"
        if can_post
        else (f"it is stored with the incident; export it with {export}")
    )
    return Result(
        reply=RichMessage(text=f"Compiling the postmortem draft for {ref}; {where}."),
        effects=[publish(deps, incident_id=incident.id, post=bool(can_post))],
    )
