"""Capabilities plugged into the core services by the composition root.

Each function builds the services of one area (E2EE key distribution; the
ephemeral streams; moderation and administration), stores them on the
:class:`~sceau.homeserver.Services` container and registers their hooks and
/sync sections. They are called once, from :func:`sceau.homeserver.build_services`.
"""

import hashlib
from typing import TYPE_CHECKING

from sceau.services.account_data import AccountDataService
from sceau.services.account_renewal import AccountRenewalService
from sceau.services.admin import AdminService
from sceau.services.admin_rooms import AdminRoomService
from sceau.services.admin_users import AdminUserService
from sceau.services.antivirus import ClamdClient
from sceau.services.content_scanner import ContentScanner, load_or_create_key
from sceau.services.e2ee import build_e2ee
from sceau.services.email_notifications import EmailNotifier
from sceau.services.mailer import Mailer
from sceau.services.notifications import NotificationService
from sceau.services.policy.access_rules import RoomAccessPolicy
from sceau.services.policy.directory import HIDE_PROFILE_TYPE, DirectoryOptOut
from sceau.services.policy.email_invites import EmailInviteService
from sceau.services.policy.invite_rules import InviteRules
from sceau.services.policy.room_admins import AdminSuccession
from sceau.services.policy.room_creation import RoomCreationPolicy
from sceau.services.presence import PresenceService
from sceau.services.push import PushRuleService
from sceau.services.push_delivery import PushDelivery
from sceau.services.receipts import ReceiptService
from sceau.services.reports import ReportService
from sceau.services.sliding_sync import SlidingSyncService
from sceau.services.sliding_sync_rooms import SlidingRoomBuilder
from sceau.services.sync import SyncSection
from sceau.services.typing import TypingService
from sceau.services.unread import UnreadCounter
from sceau.storage.account_data import AccountDataStore
from sceau.storage.account_renewals import AccountRenewalStore
from sceau.storage.admin import AdminStore
from sceau.storage.email_invites import EmailInviteStore
from sceau.storage.notifications import NotificationStore
from sceau.storage.presence import PresenceStore
from sceau.storage.push import PushStore
from sceau.storage.push_delivery import PushDeliveryStore
from sceau.storage.receipts import ReceiptStore
from sceau.storage.reports import ReportStore
from sceau.storage.threepids import ThreepidStore
from sceau.storage.unread_cache import UnreadCountCache

if TYPE_CHECKING:
    from sceau.homeserver import Services


def add_e2ee(services: "Services") -> None:
    """Key distribution, to-device messaging and device lists, plugged into sync and hooks."""
    e2ee = build_e2ee(
        server_name=services.config.server_name,
        clock=services.clock,
        db=services.stores.db,
        accounts=services.stores.accounts,
        state=services.stores.state,
        stream=services.stream,
        notifier=services.notifier,
        member_changes=services.events.member_changes,
    )
    services.e2ee = e2ee
    services.sync.sections += [
        e2ee.keys.sync_section,
        e2ee.to_device.sync_section,
        e2ee.device_lists.sync_section,
    ]
    services.account_hooks.device_created.append(e2ee.keys.device_created)
    services.account_hooks.devices_deleted.append(e2ee.keys.devices_deleted)
    services.account_hooks.deactivated += [
        e2ee.cross_signing.account_deactivated,
        e2ee.key_backup.account_deactivated,
        e2ee.dehydrated.account_deactivated,
    ]


def add_ephemeral(services: "Services") -> None:
    """Typing, receipts, presence, account data, push rules and unread counts.

    The unread-count section goes last: it fills in rooms the others added.
    """
    db, stream, notifier, clock = (
        services.stores.db,
        services.stream,
        services.notifier,
        services.clock,
    )
    state = services.stores.state
    unread_cache = services.unread_cache = UnreadCountCache()
    services.metrics.register_cache("unread_counts", lambda: len(unread_cache))
    services.typing = TypingService(clock=clock, notifier=notifier, state=state)
    services.account_data = AccountDataService(
        db=db, stream=stream, notifier=notifier, store=AccountDataStore(db)
    )
    services.receipts = ReceiptService(
        clock=clock,
        db=db,
        stream=stream,
        notifier=notifier,
        store=ReceiptStore(db, unread_cache),
        state=state,
        account_data=services.account_data,
    )
    services.presence = PresenceService(
        enabled=services.config.presence.enabled,
        clock=clock,
        db=db,
        stream=stream,
        notifier=notifier,
        store=PresenceStore(db),
        state=state,
    )
    push_store = PushStore(db, unread_cache)
    services.push = PushRuleService(
        clock=clock, db=db, stream=stream, notifier=notifier, store=push_store
    )
    services.push.allowed_gateways = frozenset(services.config.push.allowed_gateways)
    services.account_data.virtual_types["m.push_rules"] = services.push.account_data_content
    unread = UnreadCounter(
        server_name=services.config.server_name, store=push_store, rules=services.push, clock=clock
    )
    services.events.persist_hooks.append(unread.on_events)
    services.rooms.membership_hooks.append(unread.on_membership)
    services.rooms.membership_hooks.append(services.typing.on_membership)
    services.sync.typing_position = services.typing.position
    services.sync.start_hooks.append(services.presence.on_sync)
    services.account_hooks.deactivated.append(services.presence.user_deactivated)
    services.account_hooks.deactivated.append(services.push.user_deactivated)
    services.sync.sections += [
        services.typing.sync_section,
        services.receipts.sync_section,
        services.presence.sync_section,
        services.account_data.sync_section,
        services.push.sync_section,
        unread.sync_section,
    ]
    add_sliding_sync(services, unread.sync_section)


def add_sliding_sync(services: "Services", unread: SyncSection) -> None:
    """Simplified Sliding Sync, reusing the /sync room builder and sections."""
    stores = services.stores
    sliding = SlidingSyncService(
        clock=services.clock,
        notifier=services.notifier,
        sync=services.sync,
        state=stores.state,
        rooms=SlidingRoomBuilder(
            builder=services.sync.rooms_builder,
            events=stores.events,
            state=stores.state,
            formatter=services.formatter,
            room_changes=services.events.room_changes,
        ),
        account_data=services.account_data,
        max_timeout_ms=services.config.limits.max_sync_timeout_ms,
        receipt_changes=services.receipts.changes,
    )
    sections = sliding.sections
    sections.to_device.append(services.e2ee.to_device.sync_section)
    sections.e2ee += [services.e2ee.keys.sync_section, services.e2ee.device_lists.sync_section]
    sections.account_data += [services.account_data.sync_section, services.push.sync_section]
    sections.receipts.append(services.receipts.sync_section)
    sections.typing.append(services.typing.sync_section)
    sections.unread.append(unread)
    services.sliding_sync = sliding


def add_moderation(services: "Services") -> None:
    """Content reports, whois, the notification list and the Synapse admin API."""
    stores, config = services.stores, services.config
    reports = ReportStore(stores.db)
    services.reports = ReportService(
        server_name=config.server_name,
        clock=services.clock,
        store=reports,
        events=stores.events,
        state=stores.state,
        rooms=stores.rooms,
        accounts=stores.accounts,
        room_state=services.room_state,
        ratelimiter=services.ratelimiter,
    )
    services.admin = AdminService(server_name=config.server_name, accounts=stores.accounts)
    services.notifications = NotificationService(
        store=NotificationStore(stores.db), formatter=services.formatter
    )
    services.account_hooks.deactivated.append(services.notifications.user_deactivated)
    admin_store = AdminStore(stores.db, config.server_name)
    services.admin_users = AdminUserService(
        server_name=config.server_name,
        clock=services.clock,
        db=stores.db,
        accounts=stores.accounts,
        admin_store=admin_store,
        account_service=services.accounts,
        passwords=services.passwords,
        profile=services.profile,
        state=stores.state,
        validity_period_ms=config.account_validity.period_ms,
    )
    services.admin_rooms = AdminRoomService(
        admin_store=admin_store, reports=reports, events=stores.events, state=stores.state
    )


def add_policy(services: "Services") -> None:
    """The state's rules that act on rooms and accounts (the config's ``policy`` section)."""
    stores, policy = services.stores, services.config.policy
    access = RoomAccessPolicy(
        config=services.config, state=stores.state, events=stores.events, rooms=stores.rooms
    )
    if policy.room_access_rules:
        creation = RoomCreationPolicy(access=access, state=stores.state, events=stores.events)
        services.events.local_checks.append(access.check_local_event)
        services.rooms.create_hooks.append(creation.prepare)
        services.room_directory.publish_checks.append(access.check_publish)
    if policy.invite_rules.domain_mapping or not policy.invite_rules.allow_unmapped_inviters:
        services.events.local_checks.append(InviteRules(policy.invite_rules).check_local_event)
    if policy.promote_when_last_admin_leaves:
        succession = AdminSuccession(
            events=services.events,
            event_store=stores.events,
            state=stores.state,
            is_external=access.is_external,
        )
        services.rooms.leave_hooks.append(succession.before_leave)
    invites = EmailInviteService(
        config=services.config,
        clock=services.clock,
        db=stores.db,
        store=EmailInviteStore(stores.db),
        threepids=ThreepidStore(stores.db),
        events=services.events,
        rooms=services.rooms,
        state=stores.state,
        event_store=stores.events,
        access=access,
        mailer=services.mailer,
        ratelimiter=services.ratelimiter,
        signing_key=services.signing_key,
    )
    services.email_invites = invites
    services.threepids.invited_lookup = invites.is_invited
    services.accounts.email_bound_hooks.append(invites.claim)
    services.jobs.add("email invitation expiry", 300, invites.expire)
    services.jobs.add("email invitation redemption retry", 300, invites.retry_claims)
    opt_out = DirectoryOptOut(accounts=stores.accounts)
    services.account_data.global_write_hooks[HIDE_PROFILE_TYPE] = opt_out.on_write
    services.account_renewal = AccountRenewalService(
        config=services.config,
        clock=services.clock,
        db=stores.db,
        store=AccountRenewalStore(stores.db),
        accounts=stores.accounts,
        mailer=services.mailer,
        ratelimiter=services.ratelimiter,
    )
    scanner_config = services.config.media.content_scanner
    if scanner_config.enabled:
        antivirus = services.config.media.antivirus
        services.content_scanner = ContentScanner(
            media=services.media,
            scanner=ClamdClient(antivirus.clamd, antivirus.timeout_s),
            key=load_or_create_key(services.config.resolve_path(scanner_config.key_path)),
        )
    if services.config.account_validity.enabled:
        services.jobs.add(
            "account renewal reminders", 60, services.account_renewal.send_due_reminders
        )


def add_observability(services: "Services", mailer: Mailer) -> None:
    """Register what the metrics read at scrape time, and the hot-path observers.

    Background job queues register here with ``metrics.register_queue``:
    email now; push and federation sending add theirs beside it.
    """
    metrics, notifier, db = services.metrics, services.notifier, services.stores.db
    if not metrics.enabled:
        return  # no listener would serve them: keep the hot paths free of bookkeeping
    services.events.observe_batches(metrics.observe_batch)
    if hasattr(db, "observe_query"):
        db.observe_query = metrics.observe_query
    metrics.register_pool(lambda: db.pool_usage()[0], lambda: db.pool_usage()[1])
    metrics.register_gauge(
        "sceau_sync_waiting", "/sync requests waiting for news", notifier.waiting_count
    )
    metrics.register_counter(
        "sceau_sync_wakes", "Waiting /sync requests woken by news", lambda: notifier.wakes
    )
    shared = services.sync.rooms_builder.shared
    metrics.register_counter(
        "sceau_sync_room_computed",
        "Incremental /sync room entries computed (once for all syncs woken alike)",
        lambda: shared.computed,
    )
    metrics.register_counter(
        "sceau_sync_room_shared",
        "Incremental /sync room entries taken from a computation another sync made",
        lambda: shared.reused,
    )
    metrics.register_cache("sync_shared_rooms", lambda: len(shared))
    metrics.register_cache("access_tokens", services.stores.accounts.token_cache_size)
    metrics.register_cache("recent_events", lambda: len(services.events.recent))
    metrics.register_queue("email", lambda: mailer.pending)
    metrics.register_queue("federation", lambda: services.federation.sender.queued)


def add_push_delivery(services: "Services") -> None:
    """Notifications to phones through the approved push gateways."""
    stores = services.stores
    delivery = PushDelivery(
        config=services.config.push,
        store=PushDeliveryStore(stores.db),
        events=stores.events,
        state=stores.state,
        stream=services.stream,
    )
    services.events.persist_hooks.append(delivery.on_events)
    services.receipts.hooks.append(delivery.on_receipt)
    services.push.pusher_hooks.append(delivery.pushers_changed)
    services.push_delivery = delivery
    secret = hashlib.sha256(b"sceau email notifications\0" + services.signing_key.seed).digest()
    services.email_notifier = EmailNotifier(
        config=services.config,
        clock=services.clock,
        store=PushDeliveryStore(stores.db),
        events=stores.events,
        state=stores.state,
        stream=services.stream,
        mailer=services.mailer,
        link_secret=secret,
    )
    services.jobs.add("email notifications", 60, services.email_notifier.send_due)
