"""Plugging one process of a multi-process deployment into the others.

With ``workers.instances`` configured, ``sceau serve --worker NAME`` builds
the same services as one process, except that positions come from the
PostgreSQL sequence (:class:`~sceau.cluster.stream.ClusterStream`) and
notifications go through Redis (:class:`~sceau.cluster.notifier.ClusterNotifier`).
Then every change tracker and every cache of mutable rows is shared through
the bus, so what one process writes, the others' caches forget.
"""

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from sceau.cluster.bus import Bus
from sceau.cluster.notifier import ClusterNotifier
from sceau.cluster.replication import ReplicationClient
from sceau.cluster.stream import ClusterStream
from sceau.config import Config
from sceau.notifier import Notifier
from sceau.services.federation.sender import FederationSender
from sceau.storage.database import Database
from sceau.storage.events import StoredEvent
from sceau.storage.positions import allocate_positions, sequence_position

if TYPE_CHECKING:
    from sceau.homeserver import Services


@dataclass
class ClusterParts:
    """What one process shares with the others, built before the services."""

    name: str
    stream: ClusterStream
    bus: Bus
    notifier: ClusterNotifier
    replication: ReplicationClient

    async def stop(self) -> None:
        await self.bus.stop()
        await self.replication.close()


async def join_cluster(config: Config, name: str, db: Database) -> ClusterParts:
    """Connect to Redis and learn where the shared stream stands."""
    start = await sequence_position(db)
    stream = ClusterStream(name, lambda count: allocate_positions(db, count), start)
    bus = Bus(config.workers.redis_url, stream, config.workers.dead_after_s)
    notifier = ClusterNotifier(Notifier(), bus)
    await bus.start()
    replication = ReplicationClient(name, config.workers)
    return ClusterParts(name, stream, bus, notifier, replication)


def share_state(services: "Services", parts: ClusterParts) -> None:
    """Share every change tracker and mutable-row cache of ``services`` through the bus."""
    bus = parts.bus
    events = services.events
    events.owners = parts.replication
    services.federation_rooms.remote_rooms.owners = parts.replication
    bus.share_tracker("room", events.room_changes)
    bus.share_tracker("member", events.member_changes)
    bus.share_tracker("relation", events.relation_targets)
    bus.share_tracker("account_data", services.account_data.changes)
    bus.share_tracker("receipts", services.receipts.changes)
    bus.share_tracker("device_lists", services.e2ee.device_lists.list_changes)
    presence, push = services.presence, services.push
    bus.share_tracker(
        "presence", presence.changes, presence.forget_row, lambda: presence.forget_row(None)
    )
    bus.share_tracker("push", push.changes, push.forget_ruleset, lambda: push.forget_ruleset(None))

    accounts = services.stores.accounts
    publish_owners = bus.share_invalidation(
        "tokens", lambda _key: accounts.clear_owner_cache(), accounts.clear_owner_cache
    )
    accounts.on_owners_cleared = lambda: publish_owners("")

    unread = services.unread_cache
    publish_unread = bus.share_invalidation(
        "unread", lambda key: unread.forget(_keys(key)), lambda: unread.forget(None)
    )
    unread.on_change = lambda keys: publish_unread(orjson.dumps(keys).decode())

    to_device = services.e2ee.to_device
    publish_inbox = bus.share_invalidation(
        "inbox",
        lambda key: to_device.forget_known_empty(_pair(key)),
        lambda: to_device.forget_known_empty(None),
    )
    to_device.on_sent = lambda user, device: publish_inbox(orjson.dumps([user, device]).decode())

    keys = services.e2ee.keys
    publish_counts = bus.share_invalidation(
        "otk_counts", lambda key: keys.forget_counts(_pair(key)), lambda: keys.forget_counts(None)
    )
    keys.on_counts_changed = lambda user, device: publish_counts(
        orjson.dumps([user, device]).decode()
    )

    _share_recent_events(services, parts)
    share_federation_queue(services.federation.sender, parts.bus)
    _share_presence_activity(services, parts)
    _observe(services, parts)

    typing = services.typing
    notifier = parts.notifier

    def typing_elsewhere(key: str) -> None:
        room_id, user_id, is_typing, timeout_ms = orjson.loads(key)
        if typing.apply_remote(room_id, user_id, is_typing, timeout_ms):
            notifier.wake_here([room_id], [])

    publish_typing = bus.share_invalidation("typing", typing_elsewhere)

    async def typing_hook(room_id: str, user_id: str, is_typing: bool, timeout_ms: int) -> None:
        publish_typing(orjson.dumps([room_id, user_id, is_typing, timeout_ms]).decode())

    typing.hooks.append(typing_hook)


def _keys(raw: str) -> list[tuple[str, str]] | None:
    decoded = orjson.loads(raw)
    return None if decoded is None else [(user, room) for user, room in decoded]


def _pair(raw: str) -> tuple[str, str]:
    first, second = orjson.loads(raw)
    return first, second


def _share_recent_events(services: "Services", parts: ClusterParts) -> None:
    """Copy each room's newest events from its writer to every process.

    Only the room's writer publishes them, in the order it wrote them, so a
    copied tail holds every event after its floor, as the writer's does; a hole
    in the bus drops every copied tail. A process never copies into the tail
    of a room it writes itself.
    """
    recent, owners = services.events.recent, parts.replication

    def learn(raw: str) -> None:
        room_id, rows = orjson.loads(raw)
        if not owners.owns(room_id):
            recent.learn(room_id, [StoredEvent(*row) for row in rows])

    def forget(room_id: str) -> None:
        if not owners.owns(room_id):
            recent.forget_learnt(room_id)

    publish_append = parts.bus.share_invalidation(
        "recent", learn, lambda: recent.forget_learnt(None)
    )
    publish_forget = parts.bus.share_invalidation("recent_forget", forget)

    def appended(room_id: str, events: list[StoredEvent]) -> None:
        if owners.owns(room_id):
            rows = [_event_row(event) for event in events]
            publish_append(orjson.dumps([room_id, rows]).decode())

    def forgotten(room_id: str) -> None:
        if owners.owns(room_id):
            publish_forget(room_id)

    recent.on_append = appended
    recent.on_forget = forgotten


#: How often one process tells the queue's process that a destination called us, at most.
PEER_UP_EVERY_S = 5.0


def share_federation_queue(sender: FederationSender, bus: Bus) -> None:
    """Wake the process running the federation queue when another one queues.

    Items are committed by whichever process makes them (a writer's events, a
    sync worker's presence); a bus message per commit names the destinations,
    and a hole makes the queue look for everything waiting. A destination that
    calls a process other than the queue's is told too (its backoff ends).
    """

    def queued_elsewhere(raw: str) -> None:
        destinations, count = orjson.loads(raw)
        sender.wake(destinations, count)

    publish_queued = bus.share_invalidation("fed_queued", queued_elsewhere, sender.rescan)
    sender.on_queued_elsewhere = lambda destinations, count: publish_queued(
        orjson.dumps([destinations, count]).decode()
    )
    publish_up = bus.share_invalidation("fed_peer_up", sender.retry_now)
    told: dict[str, float] = {}

    def peer_up(destination: str) -> None:
        now = time.monotonic()
        if now - told.get(destination, -PEER_UP_EVERY_S) >= PEER_UP_EVERY_S:
            if len(told) > 10_000:
                told.clear()
            told[destination] = now
            publish_up(destination)

    sender.on_peer_up_elsewhere = peer_up


def _event_row(event: StoredEvent) -> list[object]:
    """A stored event as JSON, in :class:`StoredEvent`'s field order."""
    return [
        event.stream_pos,
        event.event_id,
        event.room_id,
        event.pdu,
        event.redacted_by,
        event.replaces_state,
        event.state_group,
    ]


def _observe(services: "Services", parts: ClusterParts) -> None:
    """How far this process reads, and how often news from the others was lost."""
    metrics, stream = services.metrics, parts.stream
    metrics.register_gauge(
        "sceau_cluster_readable_position",
        "Position below which every process has finished (what /sync reads up to)",
        stream.current,
    )
    metrics.register_gauge(
        "sceau_cluster_claim_lag",
        "This process's highest finished position minus what it may read",
        lambda: max(0, stream.max_finished - stream.current()),
    )
    metrics.register_counter(
        "sceau_cluster_holes",
        "Gaps in other processes' messages (caches dropped, waiters woken)",
        lambda: parts.bus.holes,
    )


#: How often one user's activity is told to the other processes, at most.
SEEN_EVERY_MS = 30_000


def _share_presence_activity(services: "Services", parts: ClusterParts) -> None:
    """Tell the other processes, now and then, that a user keeps syncing here.

    A user's syncs stick to one worker; without this the others would show
    the user idle (and then offline) while nothing about the presence changed.
    """
    presence = services.presence
    told: dict[str, int] = {}

    def learn(raw: str) -> None:
        user_id, when_ms = orjson.loads(raw)
        presence.seen_elsewhere(user_id, when_ms)

    publish = parts.bus.share_invalidation("seen", learn)

    def seen(user_id: str, now_ms: int) -> None:
        if now_ms - told.get(user_id, 0) >= SEEN_EVERY_MS:
            if len(told) > 100_000:
                told.clear()
            told[user_id] = now_ms
            publish(orjson.dumps([user_id, now_ms]).decode())

    presence.on_seen = seen
