"""The composition root: Config, then Database, then services, then the ASGI app.

Nothing else in Sceau constructs services; everything is passed in from here,
so tests can build a homeserver with a fake clock or another database.
"""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from sceau.clock import Clock, RealClock
from sceau.config import Config
from sceau.metrics_off import NoMetrics
from sceau.notifier import Notifier
from sceau.protocol.base64 import encode_base64
from sceau.protocol.signing import (
    SigningKey,
    decode_signing_key_file,
    encode_signing_key_file,
    generate_signing_key,
)
from sceau.services.account_data import AccountDataService
from sceau.services.account_renewal import AccountRenewalService
from sceau.services.accounts import AccountHooks, AccountService
from sceau.services.admin import AdminService
from sceau.services.admin_rooms import AdminRoomService
from sceau.services.admin_users import AdminUserService
from sceau.services.aliases import AliasService
from sceau.services.antivirus import ClamdClient
from sceau.services.auth import AuthService, PasswordService, UiaService
from sceau.services.background import PeriodicJobs
from sceau.services.content_scanner import ContentScanner
from sceau.services.devices import DeviceService
from sceau.services.e2ee import E2eeServices
from sceau.services.email_notifications import EmailNotifier
from sceau.services.events import EventService
from sceau.services.federation import FederationServices
from sceau.services.federation.rooms import FederationRooms
from sceau.services.formatting import EventFormatter
from sceau.services.mailer import Mailer
from sceau.services.media import MediaService
from sceau.services.messaging import MessagingService
from sceau.services.notifications import NotificationService
from sceau.services.policy.email_invites import EmailInviteService
from sceau.services.policy.email_routing import external_servers
from sceau.services.policy.identity_accounts import IdentityAccounts
from sceau.services.presence import PresenceService
from sceau.services.profile import ProfileService
from sceau.services.push import PushRuleService
from sceau.services.push_delivery import PushDelivery
from sceau.services.ratelimit import RateLimiter
from sceau.services.receipts import ReceiptService
from sceau.services.relations import RelationService
from sceau.services.reports import ReportService
from sceau.services.room_directory import RoomDirectoryService
from sceau.services.room_state import RoomStateService
from sceau.services.rooms import RoomService
from sceau.services.search import SearchService
from sceau.services.sliding_sync import SlidingSyncService
from sceau.services.spaces import SpaceService
from sceau.services.sync import SyncService
from sceau.services.sync_rooms import RoomSyncBuilder
from sceau.services.threepid import ThreepidService
from sceau.services.timeline import TimelineService
from sceau.services.typing import TypingService
from sceau.services.upgrade import RoomUpgradeService
from sceau.services.user_directory import UserDirectoryService
from sceau.services.voip import VoipService
from sceau.storage.accounts import AccountStore
from sceau.storage.database import Database, PostgresDatabase, SqliteDatabase
from sceau.storage.events import EventStore
from sceau.storage.filters import FilterStore
from sceau.storage.media import MediaStore
from sceau.storage.media_files import MediaFileStore
from sceau.storage.migrations import migrate
from sceau.storage.relations import RelationStore
from sceau.storage.room_directory import RoomSummaryStore
from sceau.storage.rooms import RoomStore
from sceau.storage.search import SearchStore
from sceau.storage.state import StateStore
from sceau.storage.threepids import ThreepidStore
from sceau.storage.user_directory import UserDirectoryStore
from sceau.streams import StreamIdGenerator
from sceau.wiring import (
    add_e2ee,
    add_ephemeral,
    add_moderation,
    add_observability,
    add_policy,
    add_push_delivery,
)
from sceau.wiring_dag import add_event_graph_federation
from sceau.wiring_federation import add_federation

if TYPE_CHECKING:
    from sceau.http.observe import AccessLogSink
    from sceau.metrics import Metrics
    from sceau.storage.unread_cache import UnreadCountCache
    from sceau.wiring_cluster import ClusterParts


@dataclass
class Stores:
    """Every storage module, sharing one database."""

    db: Database
    accounts: AccountStore
    events: EventStore
    state: StateStore
    rooms: RoomStore
    filters: FilterStore
    relations: RelationStore
    search: SearchStore
    room_summaries: RoomSummaryStore
    user_directory: UserDirectoryStore

    @classmethod
    def on(cls, db: Database) -> "Stores":
        return cls(
            db=db,
            accounts=AccountStore(db),
            events=EventStore(db),
            state=StateStore(db),
            rooms=RoomStore(db),
            filters=FilterStore(db),
            relations=RelationStore(db),
            search=SearchStore(db),
            room_summaries=RoomSummaryStore(db),
            user_directory=UserDirectoryStore(db),
        )


@dataclass
class Services:
    """Every service, built once at start-up and handed to the HTTP layer."""

    config: Config
    clock: Clock
    signing_key: SigningKey
    stores: Stores
    metrics: "Metrics | NoMetrics"
    notifier: Notifier
    stream: StreamIdGenerator
    ratelimiter: RateLimiter
    passwords: PasswordService
    auth: AuthService
    uia: UiaService
    events: EventService
    formatter: EventFormatter
    rooms: RoomService
    aliases: AliasService
    room_state: RoomStateService
    timeline: TimelineService
    messaging: MessagingService
    sync: SyncService
    account_hooks: AccountHooks
    accounts: AccountService
    devices: DeviceService
    profile: ProfileService
    relations: RelationService
    search: SearchService
    user_directory: UserDirectoryService
    room_directory: RoomDirectoryService
    upgrades: RoomUpgradeService
    media: MediaService
    spaces: SpaceService
    threepids: ThreepidService
    voip: VoipService
    mailer: Mailer
    jobs: PeriodicJobs = field(default_factory=PeriodicJobs)
    e2ee: E2eeServices = field(init=False)
    typing: TypingService = field(init=False)
    receipts: ReceiptService = field(init=False)
    presence: PresenceService = field(init=False)
    account_data: AccountDataService = field(init=False)
    push: PushRuleService = field(init=False)
    reports: ReportService = field(init=False)
    admin: AdminService = field(init=False)
    admin_users: AdminUserService = field(init=False)
    admin_rooms: AdminRoomService = field(init=False)
    notifications: NotificationService = field(init=False)
    sliding_sync: SlidingSyncService = field(init=False)
    federation: FederationServices = field(init=False)
    account_renewal: AccountRenewalService = field(init=False)
    content_scanner: ContentScanner | None = None
    push_delivery: PushDelivery = field(init=False)
    email_notifier: EmailNotifier = field(init=False)
    email_invites: EmailInviteService = field(init=False)
    identity_accounts: IdentityAccounts = field(init=False)
    federation_rooms: FederationRooms = field(init=False)
    unread_cache: "UnreadCountCache" = field(init=False)
    #: This process's link to the others, when it is one worker among several.
    cluster: "ClusterParts | None" = None

    @property
    def runs_background_work(self) -> bool:
        """One process alone, or the ``main`` worker: the queues and periodic jobs."""
        return self.cluster is None or self.cluster.name == self.config.workers.main_name()

    @property
    def runs_federation_queue(self) -> bool:
        """One process alone, or the deployment's one federation sender (``main`` by default)."""
        if self.cluster is None:
            return True
        return self.cluster.name == self.config.workers.federation_sender_name()

    async def start(self) -> None:
        """Background work of a serving process (the federation queue, periodic jobs)."""
        if self.runs_federation_queue:
            await self.federation.start()
        if not self.runs_background_work:
            return
        await self.push_delivery.start()
        self.jobs.start()

    async def stop(self) -> None:
        if self.runs_background_work:
            await self.jobs.stop()
            await self.push_delivery.stop()
        await self.federation.stop()  # a process not sending the queue still has a client
        if self.cluster is not None:
            await self.cluster.stop()


def load_or_create_signing_key(path: Path) -> SigningKey:
    """Read the server's ed25519 key, generating it on first start (mode 0600)."""
    if path.exists():
        return decode_signing_key_file(path.read_text(encoding="utf-8"))
    key = generate_signing_key(
        secrets.token_bytes(32),
        # Key versions allow only [A-Za-z0-9_]: URL-safe base64 may hold a "-".
        "a_" + encode_base64(secrets.token_bytes(3), urlsafe=True).replace("-", "_"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(encode_signing_key_file(key) + "\n")
    return key


async def open_database(config: Config) -> Database:
    if config.database.backend == "postgresql":
        if not config.database.dsn:
            raise ValueError("database.dsn is required when database.backend is postgresql")
        db: Database = await PostgresDatabase.connect(
            config.database.dsn, config.database.pool_size
        )
    else:
        path = config.resolve_path(config.database.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = SqliteDatabase(str(path), cache_mib=config.database.sqlite_cache_mib)
    await migrate(db)
    return db


async def current_stream_position(db: Database) -> int:
    """Where the shared stream resumes after a restart: the highest position stored."""
    from sceau.storage.positions import max_stream_position

    return await max_stream_position(db)


def new_metrics(config: Config) -> "Metrics | NoMetrics":
    """Prometheus series when ``metrics.enabled``; otherwise nothing is recorded."""
    if not config.metrics.enabled:
        return NoMetrics()
    from prometheus_client import CollectorRegistry

    from sceau.metrics import Metrics

    # A registry of this homeserver's own: never prometheus-client's global one.
    return Metrics(CollectorRegistry(auto_describe=True))


async def build_services(
    config: Config,
    clock: Clock | None = None,
    db: Database | None = None,
    signing_key: SigningKey | None = None,
    password_hasher: object | None = None,
    metrics: "Metrics | NoMetrics | None" = None,
    federation_http: Any = None,
    worker: str | None = None,
) -> Services:
    """Every service of one process; ``worker`` names it among several (``workers``)."""
    clock = clock or RealClock()
    if metrics is None:
        metrics = new_metrics(config)
    db = db or await open_database(config)
    signing_key = signing_key or load_or_create_signing_key(
        config.resolve_path(config.signing_key_path)
    )
    stores = Stores.on(db)
    cluster = None
    stream: Any
    notifier: Any
    if worker is not None:
        from sceau.wiring_cluster import join_cluster

        cluster = await join_cluster(config, worker, db)
        stream, notifier = cluster.stream, cluster.notifier
    else:
        stream = StreamIdGenerator(await current_stream_position(db))
        notifier = Notifier()
    passwords = PasswordService(
        password_hasher,  # type: ignore[arg-type]
        concurrency=config.limits.password_hash_concurrency,
    )
    ratelimiter = RateLimiter(config.rate_limits, clock)
    events = EventService(
        server_name=config.server_name,
        clock=clock,
        signing_key=signing_key,
        db=db,
        events=stores.events,
        state=stores.state,
        rooms=stores.rooms,
        stream=stream,
        notifier=notifier,
    )
    formatter = EventFormatter(stores.events, stores.rooms, clock)
    formatter.relation_targets = events.relation_targets
    room_state = RoomStateService(
        events=stores.events, state=stores.state, rooms=stores.rooms, formatter=formatter
    )
    rooms = RoomService(
        config=config,
        events=events,
        event_store=stores.events,
        rooms=stores.rooms,
        state=stores.state,
        accounts=stores.accounts,
    )
    relations = RelationService(
        relations=stores.relations,
        events=stores.events,
        state=stores.state,
        room_state=room_state,
        formatter=formatter,
    )
    formatter.aggregations = relations.bundled_aggregations
    search = SearchService(
        search=stores.search,
        events=stores.events,
        state=stores.state,
        room_state=room_state,
        formatter=formatter,
    )
    room_directory = RoomDirectoryService(
        server_name=config.server_name,
        summaries=stores.room_summaries,
        rooms=stores.rooms,
        state=stores.state,
        events=stores.events,
    )
    events.persist_hooks += [search.index_events, room_directory.summary_hook]
    auth = AuthService(stores.accounts, clock=clock)
    uia = UiaService(clock, passwords, stores.accounts)
    account_hooks = AccountHooks()
    account_hooks.deactivated.append(rooms.leave_all_rooms)
    account_hooks.profile_changed.append(rooms.refresh_profile_in_rooms)
    mailer = Mailer(config.email)
    threepids = ThreepidService(
        config=config,
        clock=clock,
        db=db,
        store=ThreepidStore(db),
        accounts=stores.accounts,
        mailer=mailer,
        ratelimiter=ratelimiter,
    )
    account_hooks.deactivated.append(threepids.user_deactivated)
    built = Services(
        config=config,
        clock=clock,
        signing_key=signing_key,
        stores=stores,
        metrics=metrics,
        notifier=notifier,
        stream=stream,
        ratelimiter=ratelimiter,
        passwords=passwords,
        auth=auth,
        uia=uia,
        events=events,
        formatter=formatter,
        rooms=rooms,
        aliases=AliasService(
            server_name=config.server_name,
            db=db,
            rooms=stores.rooms,
            state=stores.state,
            events=stores.events,
        ),
        room_state=room_state,
        timeline=TimelineService(
            events=stores.events,
            state=stores.state,
            room_state=room_state,
            formatter=formatter,
            current_position=stream.current,
        ),
        messaging=MessagingService(
            events=events, event_store=stores.events, state=stores.state, ratelimiter=ratelimiter
        ),
        sync=SyncService(
            clock=clock,
            notifier=notifier,
            stream=stream,
            state=stores.state,
            rooms_builder=RoomSyncBuilder(
                events=stores.events,
                state=stores.state,
                rooms=stores.rooms,
                room_state=room_state,
                formatter=formatter,
                room_changes=events.room_changes,
                recent=events.recent,
            ),
            max_timeout_ms=config.limits.max_sync_timeout_ms,
            member_changes=events.member_changes,
            full_sync_concurrency=config.limits.full_sync_concurrency,
        ),
        relations=relations,
        search=search,
        user_directory=UserDirectoryService(
            store=stores.user_directory, clock=clock, external_servers=external_servers(config)
        ),
        room_directory=room_directory,
        upgrades=RoomUpgradeService(
            server_name=config.server_name,
            events=events,
            event_store=stores.events,
            state=stores.state,
            rooms=stores.rooms,
            summaries=stores.room_summaries,
            membership_hooks=rooms.membership_hooks,
            random_id=lambda: secrets.token_urlsafe(18).replace("-", "x").replace("_", "y"),
        ),
        account_hooks=account_hooks,
        accounts=AccountService(
            config=config,
            clock=clock,
            db=db,
            accounts=stores.accounts,
            auth=auth,
            passwords=passwords,
            uia=uia,
            ratelimiter=ratelimiter,
            hooks=account_hooks,
            threepids=threepids,
        ),
        devices=DeviceService(db=db, accounts=stores.accounts, uia=uia, hooks=account_hooks),
        profile=ProfileService(
            db=db,
            accounts=stores.accounts,
            hooks=account_hooks,
            lock_display_name=config.policy.lock_display_name,
            external_servers=external_servers(config),
        ),
        media=MediaService(
            server_name=config.server_name,
            config=config.media,
            clock=clock,
            store=MediaStore(db),
            files=MediaFileStore(config.resolve_path(config.media.store_path)),
            ratelimiter=ratelimiter,
            scanner=_antivirus(config),
        ),
        spaces=SpaceService(
            summaries=stores.room_summaries,
            state=stores.state,
            events=stores.events,
            rooms=stores.rooms,
        ),
        threepids=threepids,
        voip=VoipService(config.voip, clock, ratelimiter),
        mailer=mailer,
        cluster=cluster,
    )
    add_e2ee(built)
    add_ephemeral(built)
    add_moderation(built)
    add_policy(built)
    add_push_delivery(built)
    add_federation(built, http=federation_http)
    add_event_graph_federation(built)
    add_observability(built, mailer)
    if cluster is not None:
        from sceau.wiring_cluster import share_state

        share_state(built, cluster)
    return built


def _antivirus(config: Config) -> ClamdClient | None:
    """The clamd client when uploads are to be scanned."""
    antivirus = config.media.antivirus
    return ClamdClient(antivirus.clamd, antivirus.timeout_s) if antivirus.enabled else None


def all_routes() -> list[BaseRoute]:
    """Every endpoint module's routes, in one list."""
    from sceau.http import routes

    return routes.collect()


def build_app(services: Services, access_sink: "AccessLogSink | None" = None) -> ASGIApp:
    """The ASGI application; ``access_sink`` takes access-log lines instead of the logger."""
    from sceau.http.app import build_app as build_asgi

    return build_asgi(services, all_routes(), access_sink)
