"""A synthetic, realistic incident timeline for the postmortem benchmark.

Mostly chat in bursts, with edits, deletions, notes, updates, status, severity and role
changes, pins, tasks and joins; text from "ack" to long log pastes, some of it multi-line,
Unicode or Markdown-hostile. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.domain.timeline import EventKind

SPAN = timedelta(hours=26)  # a long, busy incident: declared the day before
K = EventKind

# (id, display name): some display names are Markdown-hostile too.
NAMES = (
    "alice;bob;carol;dave;erin;frank;grace;heidi;ivan;judy;mallory;niaj;olivia;peggy;rupert;"
    "sybil;trent;victor;walter;o'brien;_sam_;*star*;[ops] kim;李雷;zoë;<b>eve</b>;dev|null;# root"
)
PEOPLE = [(f"U{i:03d}", name) for i, name in enumerate(NAMES.split(";"))]
SERVICES = ["checkout", "payments-api", "auth", "edge-proxy", "orders-db", "search", "cdn"]
ACKS = ["ack", "+1", "on it", "looking", "same here", "👀", "ty", "brb", "yes", "no", "?"]
PHRASES = [
    "p99 for {svc} is at {n}ms, was ~180ms before the deploy",
    "error rate on {svc} is {p}% and climbing",
    "rolling back {svc} to the previous release now",
    "I see connection resets between {svc} and orders-db",
    "can someone check the {svc} dashboards? mine won't load",
    "paging the {svc} on-call, they're not in the channel yet",
    "the canary in eu-west-1 looks healthy, us-east-1 doesn't",
    "pool size on {svc} is maxed at {n}, queue depth {q}",
    "customer support says tickets are up {p}% in the last hour",
    "holding the deploy train until we understand this",
    "the feature flag new_{svc}_path is still on for 100%",
    "cache hit ratio dropped to {p}% right at {hh}:{mm}",
    "do we have a runbook for failing over {svc}?",
    "restarted 3 of {n} pods, watching the error rate",
    "looks like GC pauses, heap is at {p}% on every node",
    "status page updated, next update in 30 minutes",
]
HOSTILE = [
    "**not bold** and __not bold__ and *not em*",
    "use `kubectl get pods -n {svc}` — note the backticks",
    "</details> closed the group? <summary>nope</summary>",
    "<script>alert('x')</script> & &amp; &#x27; &lt;",
    "| col a | col b |\n| --- | --- |\n| 1 | 2 |",
    "# this is not a heading",
    "1. first\n2. second\n3) third",
    "- not a list\n+ nor this\n* nor this",
    "> not a quote\n>> nor this",
    "---\n===\n***",
    "[click me](https://grafana.example.com/d/abc?var-svc={svc}&from=now-1h) ![img](x.png)",
    "~~struck~~ and C:\\Users\\ops\\logs\\{svc}.log",
    "<https://example.com/a_b_c|label> <!here> <@U001>",
    "50% of requests | 3/4 pods | a_b_c_d",
    "```\nnot closed fence",
    "{{{{ jinja }}}} {{% raw %}} ${{HOME}} $(rm -rf /)",
]
UNICODE = [
    "نشر التحديث الآن",
    "デプロイを戻しました",
    "🔥🔥🔥 on fire",
    "zalgo z̷̛a̶l̸g̵o",
    "\u200bzero-width",
]
UPDATES = [
    "We are investigating elevated error rates on {svc}. Customers may see failed checkouts.",
    "Mitigation in progress: {svc} rolled back; error rate down to {p}%.",
    "Root cause identified: connection pool exhaustion in {svc} after the config change.\n"
    "- rollback complete\n- monitoring recovery\n- next update in 30m",
    "No change since the last update; the team is still working through the {svc} logs.",
]
NOTES = [
    "decision: roll back {svc} rather than hotfix",
    "follow up: alert on pool saturation for {svc}",
    "hypothesis ruled out: not DNS (checked resolvers in all regions)",
    "timeline check: first customer report at {hh}:{mm} UTC",
]
STATUSES = ["investigating", "identified", "monitoring", "resolved"]


def _fill(rng: random.Random, text: str) -> str:
    return text.format(
        svc=rng.choice(SERVICES),
        n=rng.randint(2, 4000),
        q=rng.randint(10, 90000),
        p=rng.randint(1, 99),
        hh=f"{rng.randint(0, 23):02d}",
        mm=f"{rng.randint(0, 59):02d}",
    )


def _log_lines(rng: random.Random, count: int) -> str:
    lines = [
        f"2026-01-0{rng.randint(1, 9)}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z "
        f"{rng.choice(['ERROR', 'WARN', 'INFO'])} {rng.choice(SERVICES)} "
        f"req_id={rng.getrandbits(64):016x} <{rng.choice(['timeout', 'reset', '5xx'])}> "
        f"*retry* {rng.randint(1, 5)}/5 path=/api/v2/orders/{rng.randint(1, 10**6)}"
        for _ in range(count)
    ]
    return "```\n" + "\n".join(lines) + "\n```"


def chat_text(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.22:
        return rng.choice(ACKS)
    if r < 0.64:
        return " ".join(_fill(rng, rng.choice(PHRASES)) for _ in range(rng.randint(1, 3)))
    if r < 0.80:
        return f"{_fill(rng, rng.choice(PHRASES))} {_fill(rng, rng.choice(HOSTILE))}"
    if r < 0.91:
        return _fill(rng, rng.choice(PHRASES)) + ":\n" + _log_lines(rng, rng.randint(2, 12))
    if r < 0.94:
        return _log_lines(rng, rng.randint(15, 30))[:4000]  # a pasted dump, clipped
    if r < 0.97:
        return rng.choice(UNICODE) + " " + _fill(rng, rng.choice(PHRASES))
    return "\n\n".join(_fill(rng, rng.choice(HOSTILE)) for _ in range(rng.randint(2, 4)))


# Weighted kinds of the events between declare and resolve (chat about 85%).
KINDS = {
    K.CHAT: 850, K.CHAT_EDITED: 30, K.CHAT_DELETED: 7, K.NOTE: 35, K.UPDATE: 12, K.PINNED: 10,
    K.UNPINNED: 2, K.TASK_ADDED: 8, K.TASK_DONE: 5, K.JOINED: 8, K.ROLE: 2, K.SEVERITY: 1,
    K.ALERT: 4, K.REMINDER: 5, K.SUMMARY: 5, K.COMMS: 2, K.SNOOZED: 1, K.EFFECT_FAILED: 1,
}  # fmt: skip


@dataclass
class Story:
    """What the generated timeline did, so the other tables can match it."""

    incident_id: int
    start: datetime
    rng: random.Random
    chats: list[tuple[str, str, str, datetime]] = field(default_factory=list)  # msg, uid, name
    deleted: set[str] = field(default_factory=set)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    joined: dict[str, str] = field(default_factory=dict)
    roles: dict[str, tuple[str, str]] = field(default_factory=dict)
    severity: str = "SEV2"
    status_at: dict[str, datetime] = field(default_factory=dict)
    latest_update: tuple[str, datetime] | None = None
    seq: int = 0

    def row(
        self,
        at: datetime,
        kind: str,
        who: tuple[str, str] | None,
        text: str = "",
        message_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        uid, name = who or ("", "")
        return {
            "incident_id": self.incident_id,
            "at": at,
            "kind": str(kind),
            "actor_id": uid,
            "actor_name": name,
            "text": text,
            "message_id": message_id,
            "data": data or {},
        }


def _times(rng: random.Random, start: datetime, count: int) -> Iterator[datetime]:
    """Event times over SPAN: quiet stretches and bursts of fast chat."""
    avg_gap = SPAN.total_seconds() / count
    at, burst = start, 0
    for _ in range(count):
        if burst <= 0 and rng.random() < 0.01:
            burst = rng.randint(40, 400)
        gap = rng.expovariate(1 / (avg_gap * (0.25 if burst > 0 else 2.5)))
        burst -= 1
        at += timedelta(seconds=gap)
        yield at


def _event(story: Story, at: datetime, kind: K, fraction: float) -> dict[str, Any]:
    rng = story.rng
    who = rng.choice(PEOPLE[: 6 + int(fraction * (len(PEOPLE) - 6))])
    story.joined.setdefault(who[0], who[1])
    story.seq += 1
    if kind == K.CHAT_EDITED and story.chats:
        msg, uid, name, _ = rng.choice(story.chats[-50:])
        return story.row(at, kind, (uid, name), chat_text(rng), msg)
    if kind == K.CHAT_DELETED and story.chats:
        msg, uid, name, _ = rng.choice(story.chats[-50:])
        story.deleted.add(msg)
        return story.row(at, kind, (uid, name), "", msg)
    if kind in (K.PINNED, K.UNPINNED) and story.chats:
        msg, uid, name, when = rng.choice(story.chats[-200:])
        data: dict[str, Any] = {"original_at": when.isoformat(), "author_id": uid}
        data["author_name"] = name
        return story.row(at, kind, who, chat_text(rng), msg, data)
    if kind == K.TASK_ADDED:
        number = len(story.tasks) + 1
        owner = rng.choice(PEOPLE)
        text = _fill(rng, rng.choice(NOTES + HOSTILE[:4]))
        story.tasks[number] = {"text": text, "owner": owner, "at": at, "done": None}
        data = {"task": number, "owner_id": owner[0], "owner_name": owner[1]}
        return story.row(at, kind, who, text, data=data)
    if kind == K.TASK_DONE and any(t["done"] is None for t in story.tasks.values()):
        number = rng.choice([n for n, t in story.tasks.items() if t["done"] is None])
        story.tasks[number]["done"] = at
        return story.row(at, kind, who, story.tasks[number]["text"], data={"task": number})
    if kind == K.UPDATE:
        text = _fill(rng, rng.choice(UPDATES))
        story.latest_update = (text, at)
        return story.row(at, kind, who, text)
    if kind == K.NOTE:
        return story.row(at, kind, who, _fill(rng, rng.choice(NOTES + HOSTILE)))
    if kind == K.JOINED:
        return story.row(at, kind, who)
    if kind == K.ROLE:
        role = rng.choice(["commander", "comms", "scribe"])
        story.roles[role] = who
        label = {"commander": "Incident commander", "comms": "Comms lead", "scribe": "Scribe"}
        data = {"role": role, "user_id": who[0], "user_name": who[1], "previous_id": None}
        return story.row(at, kind, who, f"{label[role]}: {who[1]}", data=data)
    if kind == K.SEVERITY:
        old, story.severity = story.severity, "SEV1" if story.severity == "SEV2" else "SEV2"
        data = {"old": old, "new": story.severity, "escalated": story.severity == "SEV1"}
        return story.row(at, kind, who, f"{old} → {story.severity}", data=data)
    if kind == K.ALERT:
        return story.row(at, kind, ("", "pagerduty"), f"[FIRING:1] {_fill(rng, PHRASES[1])}")
    if kind == K.REMINDER:
        return story.row(at, kind, None, "update reminder #1", data={"missed": 1})
    if kind == K.SUMMARY:
        return story.row(at, kind, None, "automatic summary", data={"cursor": story.seq})
    if kind == K.COMMS:
        return story.row(at, kind, who, _fill(rng, UPDATES[0]), data={"template": "internal"})
    if kind == K.SNOOZED:
        return story.row(at, kind, who, "update reminders snoozed for 30m", data={})
    if kind == K.EFFECT_FAILED:
        return story.row(at, kind, None, "could not post the update reminder: ratelimited")
    msg = f"m{story.seq}"
    story.chats.append((msg, who[0], who[1], at))
    data = {"thread_id": rng.choice(story.chats[-20:])[0]} if rng.random() < 0.1 else {}
    return story.row(at, K.CHAT, who, chat_text(rng), msg, data)


def timeline(story: Story, count: int) -> Iterator[dict[str, Any]]:
    """`count` timeline rows after the declare, ending with the resolve."""
    rng = story.rng
    kinds, weights = list(KINDS), list(KINDS.values())
    milestones = {int(count * 0.3): "identified", int(count * 0.75): "monitoring"}
    times = list(_times(rng, story.start, count))
    for i, at in enumerate(times[:-2]):
        status = milestones.get(i)
        if status is not None:
            old = STATUSES[STATUSES.index(status) - 1]
            story.status_at[status] = at
            who = story.roles.get("commander", PEOPLE[0])
            data = {"old": old, "new": status}
            yield story.row(at, K.STATUS, who, f"{old} → {status}", data=data)
            continue
        yield _event(story, at, rng.choices(kinds, weights)[0], i / count)
    at, who = times[-2], story.roles.get("commander", PEOPLE[0])
    story.status_at["resolved"] = times[-1]
    text = "Rolled back the pool config; error rates back to baseline for 2h. *Follow-ups* below."
    yield story.row(at, K.STATUS, who, "monitoring → resolved", data={"old": "monitoring"})
    yield story.row(times[-1], K.RESOLVED, who, text)
