"""The shortest path through the lifecycle: declare, then resolve, on the console."""

from sqlmodel import select

from storage.tables import Incident


async def test_declare_then_resolve(console):
    s = console.session
    s.as_user("alice")
    out = await s.send("/incident declare SEV2 Checkout errors")
    assert out.incident_number == 1
    channel = s.ws.channel_by_name("inc-1-checkout-errors")
    assert channel is not None
    s.go(channel.name)
    await s.send("/incident resolve Rolled back")
    async with console.app.db.reader() as tx:
        row = (await tx.exec(select(Incident))).one()
    assert row.status == "resolved"
    assert row.resolved_at is not None
