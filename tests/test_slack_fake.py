"""The loopback Slack fake, proven with the real slack_sdk clients (Web API and Socket Mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack_fake import FakeSlack, signed_request
from tests.waiting import until

BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "SEV2 Checkout errors"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "Status: *investigating*"}},
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.api_url)


async def _error(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    error: str = info.value.response["error"]
    return error


# Web API -----------------------------------------------------------------------------------


async def test_auth_test_reports_the_bot_and_its_scopes(fake, client):
    fake.scopes = ["chat:write", "commands"]
    res = await client.auth_test()
    assert (res["user_id"], res["bot_id"], res["team_id"]) == ("UBOT", "BBOT", "T001")
    assert res.headers["x-oauth-scopes"] == "chat:write,commands"
    fake.assert_clean()


async def test_create_channel_then_name_taken_and_invalid_names(fake, client):
    res = await client.conversations_create(name="inc-1-checkout", is_private=True)
    cid = res["channel"]["id"]
    assert res["channel"]["is_private"] is True
    assert fake.channel_id("inc-1-checkout") == cid
    assert fake.members(cid) == ["UBOT"]
    assert await _error(client.conversations_create(name="inc-1-checkout")) == "name_taken"
    assert await _error(client.conversations_create(name="Inc 1")) == "invalid_name_specials"
    assert await _error(client.conversations_create(name="x" * 81)) == "invalid_name_maxlength"
    assert await _error(client.conversations_create(name="--")) == "invalid_name_punctuation"
    # conversations.create travels in the query string with an empty form body.
    assert fake.calls[0].args == {"name": "inc-1-checkout", "is_private": "1"}
    assert fake.calls[0].token == "xoxb-test"
    fake.assert_clean()


async def test_post_update_and_read_back_messages(fake, client):
    cid = fake.add_channel("incidents")
    first = await client.chat_postMessage(channel=cid, text="SEV2 declared", blocks=BLOCKS)
    reply = await client.chat_postMessage(channel=cid, text="update", thread_ts=first["ts"])
    assert float(reply["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS
    await client.chat_update(channel=cid, ts=first["ts"], text="SEV1 declared")
    messages = fake.messages(cid)
    assert [m["text"] for m in messages] == ["SEV1 declared", "update"]
    assert messages[0]["blocks"] == BLOCKS  # omitted blocks are kept, as Slack does
    assert (messages[0]["user"], messages[0]["thread_ts"]) == ("UBOT", None)
    assert messages[1]["thread_ts"] == first["ts"]
    link = await client.chat_getPermalink(channel=cid, message_ts=first["ts"])
    assert cid in link["permalink"]
    assert await _error(client.chat_update(channel=cid, ts="1.2", text="x")) == "message_not_found"
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        assert await _error(client.chat_postMessage(channel=cid)) == "no_text"
    fake.assert_clean()


async def test_invalid_blocks_are_an_error_and_a_violation(fake, client):
    cid = fake.add_channel("incidents")
    bad = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 200}}]
    assert await _error(client.chat_postMessage(channel=cid, text="t", blocks=bad)) == (
        "invalid_blocks"
    )
    assert fake.violations == ["invalid_blocks: blocks/0/text: text must be 1..150 characters"]
    fake.violations.clear()  # misused on purpose


async def test_membership_topic_pins_reactions_and_ephemerals(fake, client):
    alice, bob = fake.add_user("alice"), fake.add_user("bob", real_name="Bob Smith")
    cid = fake.add_channel("inc-2-db")
    await client.conversations_invite(channel=cid, users=[alice, bob])
    assert fake.members(cid) == ["UBOT", alice, bob]
    assert await _error(client.conversations_invite(channel=cid, users=alice)) == (
        "already_in_channel"
    )
    await client.conversations_setTopic(channel=cid, topic="SEV2 | commander: alice")
    assert fake.topic(cid) == "SEV2 | commander: alice"
    posted = await client.chat_postMessage(channel=cid, text="summary")
    await client.pins_add(channel=cid, timestamp=posted["ts"])
    await client.reactions_add(channel=cid, name="eyes", timestamp=posted["ts"])
    assert fake.pins(cid) == [posted["ts"]]
    assert fake.messages(cid)[0]["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]
    await client.chat_postEphemeral(channel=cid, user=alice, text="only you")
    assert fake.ephemerals[0]["user"] == alice
    assert fake.ephemerals[0]["text"] == "only you"
    info = await client.users_info(user=bob)
    assert info["user"]["real_name"] == "Bob Smith"
    assert info["user"]["profile"]["display_name"] == "bob"
    assert await _error(client.users_info(user="U999")) == "user_not_found"
    members = await client.conversations_members(channel=cid, limit=2)
    assert members["members"] == ["UBOT", alice]
    assert members["response_metadata"]["next_cursor"]
    fake.assert_clean()


async def test_archive_list_and_info(fake, client):
    cid = fake.add_channel("inc-3-old")
    fake.add_channel("secret", private=True, bot_member=False)
    await client.conversations_archive(channel=cid)
    info = await client.conversations_info(channel=cid, include_num_members=True)
    assert info["channel"]["is_archived"] is True
    assert info["channel"]["num_members"] == 1
    assert await _error(client.chat_postMessage(channel=cid, text="x")) == "is_archived"
    listed = await client.conversations_list(types="public_channel,private_channel")
    assert [c["name"] for c in listed["channels"]] == ["inc-3-old"]
    listed = await client.conversations_list(exclude_archived=True)
    assert listed["channels"] == []
    for name in ("a", "b", "c"):
        fake.add_channel(name)
    page = await client.conversations_list(limit=2, exclude_archived=True)
    cursor = page["response_metadata"]["next_cursor"]
    rest = await client.conversations_list(limit=2, exclude_archived=True, cursor=cursor)
    names = [c["name"] for c in page["channels"] + rest["channels"]]
    assert names == ["a", "b", "c"]
    assert rest["response_metadata"]["next_cursor"] == ""
    fake.assert_clean()


async def test_files_upload_v2_lands_in_the_channel(fake, client):
    cid = fake.add_channel("inc-4-files")
    res = await client.files_upload_v2(
        channel=cid, content="timeline\n", filename="timeline.md", title="Timeline"
    )
    assert res["file"]["title"] == "Timeline"
    assert fake.files(cid) == [("Timeline", "timeline.md", b"timeline\n")]
    assert fake.messages(cid)[-1]["subtype"] == "file_share"
    fake.assert_clean()


async def test_upload_endpoint_takes_multipart_too(fake, client):
    cid = fake.add_channel("inc-4-multipart")
    url = await client.files_getUploadURLExternal(filename="log.txt", length=3)
    form = aiohttp.FormData()
    form.add_field("file", b"abc", filename="log.txt")
    async with aiohttp.ClientSession() as http, http.post(url["upload_url"], data=form) as res:
        assert (res.status, await res.text()) == (200, "OK - 3")
    files = [{"id": url["file_id"], "title": "Log"}]
    await client.files_completeUploadExternal(files=files, channel_id=cid)
    assert fake.files(cid) == [("Log", "log.txt", b"abc")]
    fake.assert_clean()


async def test_retired_files_upload_is_refused_and_recorded(fake, client):
    cid = fake.add_channel("inc-5")
    with pytest.warns(UserWarning, match="files_upload_v2"):
        error = await _error(client.files_upload(channels=cid, content="x"))
    assert error == "method_deprecated"
    assert fake.violations and "files.upload is retired" in fake.violations[0]
    with pytest.raises(AssertionError, match="Slack API misuse"):
        fake.assert_clean()
    fake.violations.clear()  # misused on purpose


async def test_unknown_args_and_methods_become_violations(fake, client):
    cid = fake.add_channel("inc-6")
    await client.chat_postMessage(channel=cid, text="x", icon_emoji=":fire:")
    assert await _error(client.api_call("chat.scheduleMessage")) == "unknown_method"
    assert fake.violations == [
        "chat.postMessage: unknown arg 'icon_emoji'",
        "chat.scheduleMessage: unknown method (not in tests/slack_methods.METHODS)",
    ]
    fake.violations.clear()  # misused on purpose


async def test_bad_tokens_and_missing_scopes(fake):
    bad = AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url)
    assert await _error(bad.auth_test()) == "invalid_auth"
    app = AsyncWebClient(token="xapp-test", base_url=fake.api_url)
    assert await _error(app.auth_test()) == "not_allowed_token_type"
    fake.scopes.remove("pins:write")
    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    err = await _error(client.pins_add(channel="C001", timestamp="1.1"))
    assert err == "missing_scope"
    fake.assert_clean()


async def test_injected_failure_then_recovery(fake, client):
    fake.fail("conversations.create", "restricted_action")
    assert await _error(client.conversations_create(name="inc-7")) == "restricted_action"
    assert (await client.conversations_create(name="inc-7"))["ok"] is True


async def test_rate_limit_is_retried_by_the_sdk_handler(fake, client, monkeypatch):
    monkeypatch.setattr("random.random", lambda: 0.0)  # the handler's jitter: keep it fast
    cid = fake.add_channel("inc-8")
    fake.rate_limit("chat.postMessage", times=1, retry_after=0)
    assert await _error(client.chat_postMessage(channel=cid, text="x")) == "ratelimited"
    fake.rate_limit("chat.postMessage", times=1, retry_after=0)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    res = await client.chat_postMessage(channel=cid, text="after 429")
    assert res["ok"] is True
    assert [m["text"] for m in fake.messages(cid)] == ["after 429"]
    assert len(fake.calls_to("chat.postMessage")) == 3


async def test_rate_limit_response_is_429_with_retry_after(fake):
    fake.rate_limit("auth.test", retry_after=7)
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": "Bearer xoxb-test"}
        async with http.post(fake.api_url + "auth.test", headers=headers) as res:
            assert (res.status, res.headers["Retry-After"]) == (429, "7")
            assert await res.json() == {"ok": False, "error": "ratelimited"}


async def test_views_open_needs_a_fresh_trigger(fake, client):
    uid = fake.add_user("alice")
    cid = fake.add_channel("incidents")
    trigger = fake.slash_command("declare", uid, cid)["trigger_id"]
    view = {"type": "modal", "callback_id": "declare", "title": _plain("Declare"), "blocks": []}
    opened = await client.views_open(trigger_id=trigger, view=view)
    assert await _error(client.views_open(trigger_id=trigger, view=view)) == (
        "exchanged_trigger_id"
    )
    view["title"] = _plain("Declare incident")
    await client.views_update(view_id=opened["view"]["id"], view=view)
    assert fake.views[0]["title"]["text"] == "Declare incident"
    submission = fake.view_submission("declare", {"b": {"a": {"value": "x"}}}, uid)
    assert submission["view"]["id"] == opened["view"]["id"]
    fake.assert_clean()


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


# response_url and HTTP-mode signing --------------------------------------------------------


async def test_response_url_records_what_respond_posts(fake):
    payload = fake.slash_command("help", "U001", "C001")
    async with aiohttp.ClientSession() as http:
        body = {"response_type": "ephemeral", "text": "usage"}
        async with http.post(payload["response_url"], json=body) as res:
            assert res.status == 200
    assert fake.responses == [body]


def test_signed_request_matches_slack_signature_verifier():
    from slack_sdk.signature import SignatureVerifier

    body = "token=x&command=%2Fincident&text=help"
    headers = signed_request(body, "s3cret")
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)


# Socket Mode ----------------------------------------------------------------------------------


@pytest.fixture
async def socket_client(fake: FakeSlack) -> AsyncIterator[SocketModeClient]:
    client = SocketModeClient(
        app_token="xapp-test", web_client=AsyncWebClient(base_url=fake.api_url)
    )
    try:
        yield client
    finally:
        await client.close()  # type: ignore[no-untyped-call]


async def test_socket_mode_delivers_envelopes_and_returns_acks(fake, socket_client):
    received: list[SocketModeRequest] = []

    async def listener(client: SocketModeClient, req: SocketModeRequest) -> None:
        received.append(req)
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload={"text": "ok"})
        )

    socket_client.socket_mode_request_listeners.append(listener)
    await socket_client.connect()
    await fake.wait_connected()
    assert fake.calls_to("apps.connections.open")[0].token == "xapp-test"

    uid, cid = fake.add_user("alice"), fake.add_channel("incidents")
    command = fake.slash_command("declare SEV2 checkout", uid, cid)
    ack = await fake.send_envelope("slash_commands", command, accepts_response_payload=True)
    assert ack == {"envelope_id": received[0].envelope_id, "payload": {"text": "ok"}}
    assert received[0].type == "slash_commands"
    assert received[0].payload["user_name"] == "alice"
    assert received[0].payload["channel_name"] == "incidents"

    event = {"type": "reaction_added", "user": uid, "reaction": "eyes"}
    ack = await fake.send_envelope("events_api", fake.event_callback(event, "Ev1"))
    assert received[1].payload["event_id"] == "Ev1"
    assert ack["envelope_id"] == received[1].envelope_id
    fake.assert_clean()


async def test_socket_mode_hello_and_unacked_envelope_times_out(fake, socket_client):
    messages: list[dict[str, Any]] = []

    async def record(client: Any, message: dict[str, Any], raw: str | None) -> None:
        messages.append(message)

    socket_client.message_listeners.append(record)
    await socket_client.connect()
    action = fake.block_action("ack_incident", "1", "U001", "C001", "1.1")
    with pytest.raises(TimeoutError, match="no ack"):
        await fake.send_envelope("interactive", action, timeout_s=0.3)
    await until("the hello and the envelope on the socket", lambda: len(messages) == 2)
    assert messages[0]["type"] == "hello"
    assert messages[1]["payload"]["actions"][0]["action_id"] == "ack_incident"


async def test_apps_connections_open_refuses_the_bot_token(fake, client):
    assert await _error(client.apps_connections_open(app_token="xoxb-test")) == (
        "not_allowed_token_type"
    )
    res = await client.apps_connections_open(app_token="xapp-test")
    assert res["url"] == fake.base_url.replace("http://", "ws://") + "/socket"
    assert (fake.calls[-1].args, fake.calls[-1].token) == ({}, "xapp-test")


async def test_socket_mode_reconnects_when_slack_asks(fake, socket_client):
    async def ack(client: SocketModeClient, req: SocketModeRequest) -> None:
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    socket_client.socket_mode_request_listeners.append(ack)
    await socket_client.connect()
    await fake.request_reconnect()

    async def reconnected() -> bool:
        opened = len(fake.calls_to("apps.connections.open")) == 2
        return opened and bool(await socket_client.is_connected())

    await until("the client to connect again", reconnected)
    assert len(fake.calls_to("apps.connections.open")) == 2
    ack_msg = await fake.send_envelope("events_api", fake.event_callback({"type": "app_mention"}))
    assert ack_msg == {"envelope_id": fake.envelopes[-1]["envelope_id"]}
    fake.assert_clean()


# Bolt over the fake: what its listener `client`, `say` and `respond` really send --------------


async def test_bolt_socket_mode_app_round_trip(fake):
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
    from slack_bolt.async_app import AsyncApp

    app = AsyncApp(client=AsyncWebClient(token="xoxb-test", base_url=fake.api_url))

    @app.command("/incident")
    async def command(ack, respond, say, client):
        await ack()
        await respond("only you see this")
        await say("declared")
        await client.conversations_create(name="inc-10-bolt")

    handler = AsyncSocketModeHandler(
        app, "xapp-test", web_client=AsyncWebClient(base_url=fake.api_url)
    )
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        uid, cid = fake.add_user("alice"), fake.add_channel("incidents")
        payload = fake.slash_command("declare", uid, cid)
        await fake.send_envelope("slash_commands", payload, accepts_response_payload=True)
        await until("the listener to create #inc-10-bolt", lambda: fake.channel_id("inc-10-bolt"))
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
    assert fake.responses == [{"text": "only you see this"}]
    assert [m["text"] for m in fake.messages(cid)] == ["declared"]
    assert fake.channel_id("inc-10-bolt")
    # Bolt's listener client adds team_id to every call (auth.test included).
    assert all(c.args.get("team_id") == "T001" for c in fake.calls[1:])
    fake.assert_clean()
