"""Typed configuration, read from one YAML file.

Every section is a pydantic model that forbids unknown keys, so a typo stops
start-up with a message naming the key instead of being silently ignored.
Relative paths are resolved against the folder that holds the config file.
"""

import ipaddress
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

#: Default of ``database.sqlite_cache_mib``.
SQLITE_CACHE_MIB = 8


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Listener(_Section):
    bind_address: str = "127.0.0.1"
    port: int = Field(default=8008, ge=0, le=65535)


class DatabaseConfig(_Section):
    backend: Literal["sqlite", "postgresql"] = "sqlite"
    #: SQLite file, relative to the data folder.
    path: str = "sceau.db"
    #: PostgreSQL connection string, e.g. ``postgresql://user@host:5432/db``.
    dsn: str | None = None
    pool_size: int = Field(default=10, ge=1, le=200)
    #: SQLite's own page cache (MiB). The file's pages stay in the OS page
    #: cache anyway, so a large cache mostly doubles them inside the process.
    sqlite_cache_mib: int = Field(default=SQLITE_CACHE_MIB, ge=1, le=4096)


class RegistrationConfig(_Section):
    #: ``closed``: only the admin CLI creates accounts; ``open``: anyone may
    #: register; ``token``: registration needs one of ``tokens``; ``email``:
    #: registration needs a validated address of a domain in ``email_domains``.
    mode: Literal["closed", "open", "token", "email"] = "closed"
    tokens: list[str] = []
    #: Email domain -> server name of the homeserver whose agents hold it.
    email_domains: dict[str, str] = {}

    @field_validator("email_domains")
    @classmethod
    def _lower_domains(cls, value: dict[str, str]) -> dict[str, str]:
        return {domain.strip().lower(): server for domain, server in value.items()}


class EmailConfig(_Section):
    """The SMTP server that sends validation links; no other outbound call is made."""

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    #: Upgrade the connection with STARTTLS; ``smtp_ssl``: TLS from the first byte.
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    from_address: str = "Sceau <noreply@localhost>"
    #: How long an emailed validation link stays valid, in seconds.
    token_lifetime_s: int = Field(default=24 * 3600, ge=60)


class Rate(_Section):
    per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


class RateLimitConfig(_Section):
    enabled: bool = True
    #: Events sent, per user.
    message: Rate = Rate(per_second=10, burst=50)
    #: Registration attempts, per client IP.
    registration: Rate = Rate(per_second=0.5, burst=10)
    #: Login attempts, per client IP.
    login: Rate = Rate(per_second=1, burst=10)
    #: Media uploads and created media IDs, per user.
    media: Rate = Rate(per_second=1, burst=30)
    #: Content reports (events, rooms, users), per user.
    report: Rate = Rate(per_second=1, burst=5)
    #: Validation emails requested (/requestToken), per client IP.
    email: Rate = Rate(per_second=0.05, burst=5)
    #: TURN credentials handed out (/voip/turnServer), per user.
    turn: Rate = Rate(per_second=0.1, burst=10)


class PushConfig(_Section):
    """Where phones' notifications may be sent: nowhere the admin has not approved."""

    #: Push gateway URLs (``.../_matrix/push/v1/notify``) that HTTP pushers may use.
    allowed_gateways: list[str] = []
    #: Send message content to gateways (never for encrypted rooms); off: counts and IDs only.
    include_content: bool = False
    #: Email pushers: how long notifications stay unread before one summary email goes out.
    email_delay_ms: int = Field(default=600_000, ge=0)


class SessionsConfig(_Section):
    #: Lifetime of an access token issued with a refresh token (``refresh_token: true``).
    refreshable_access_token_lifetime_ms: int = Field(default=300_000, ge=10_000)


class LimitsConfig(_Section):
    #: Largest request body accepted, in bytes (events are capped at 65,536 by the spec).
    max_request_bytes: int = Field(default=1_048_576, ge=65_536)
    #: Longest /sync long-poll, in milliseconds.
    max_sync_timeout_ms: int = Field(default=60_000, ge=0)
    #: Password hashes (argon2id, 7 MiB each) computed at once; more wait their turn.
    #: None: one per core, at most four.
    password_hash_concurrency: int | None = Field(default=None, ge=1, le=64)
    #: Initial and full-state /syncs computed at once; more wait their turn.
    #: Each holds every room's state while it is built (a 250-member room:
    #: about a megabyte), so a burst of them is what lifts the resident set.
    #: None: two per core, at most eight.
    full_sync_concurrency: int | None = Field(default=None, ge=1, le=256)


_CLAMD_ADDRESS = re.compile(
    r"unix:///\S+|tcp://[A-Za-z0-9.\-]+:\d{1,5}|tcp://\[[0-9A-Fa-f:]+\]:\d{1,5}"
)


class AntivirusConfig(_Section):
    #: Scan every upload with clamd before it is acknowledged.
    enabled: bool = False
    #: Where clamd listens: ``unix:///path/to/clamd.ctl`` or ``tcp://host:port``.
    clamd: str = "unix:///run/clamav/clamd.ctl"
    #: Longest one scan may take (connect, stream, verdict), in seconds.
    timeout_s: float = Field(default=30, gt=0, le=3600)
    #: When clamd is unreachable or fails: ``reject`` the upload (503) or ``accept`` it unscanned.
    on_error: Literal["reject", "accept"] = "reject"

    @field_validator("clamd")
    @classmethod
    def _check_clamd(cls, value: str) -> str:
        if _CLAMD_ADDRESS.fullmatch(value) is None:
            raise ValueError("must be 'unix:///path/to/socket' or 'tcp://host:port'")
        return value


class ContentScannerConfig(_Section):
    """The content scanner: clients ask it to scan encrypted attachments before opening them."""

    enabled: bool = False
    #: The scanner's Curve25519 key pair, relative to the data folder (generated if missing).
    key_path: str = "content_scanner.key"


class MediaConfig(_Section):
    #: Folder of uploaded files and thumbnails, relative to the data folder.
    store_path: str = "media"
    #: Largest upload accepted, in bytes (50 MiB).
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    #: Media IDs a user may hold from ``POST /media/v1/create`` without uploading yet.
    max_pending_uploads: int = Field(default=5, ge=1)
    #: Images with more pixels than this are not thumbnailed (decompression bombs).
    max_thumbnail_pixels: int = Field(default=32_000_000, ge=1)
    #: Virus scanning of uploads by a ClamAV daemon (off by default).
    antivirus: AntivirusConfig = AntivirusConfig()
    #: Serve the deprecated ``/_matrix/media/v3/download`` and ``/thumbnail`` paths,
    #: which need no access token: anyone holding an mxc:// URI could fetch the file.
    legacy_unauthenticated_media: bool = False
    #: ``/_matrix/media_proxy/unstable``: encrypted attachments scanned on request (needs antivirus).
    content_scanner: ContentScannerConfig = ContentScannerConfig()

    @model_validator(mode="after")
    def _scanner_needs_antivirus(self) -> "MediaConfig":
        if self.content_scanner.enabled and not self.antivirus.enabled:
            raise ValueError(
                "content_scanner.enabled needs antivirus.enabled (clamd does the scanning)"
            )
        return self


_DURATION = re.compile(r"(\d+)\s*(ms|s|m|h|d|w)")
_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_TURN_URI = re.compile(r"turns?:\S+")


def duration_ms(value: object) -> object:
    """``"1h"``, ``"30m"``, ``"90s"``, ``"500ms"``, ``"2d"``, ``"1w"`` -> milliseconds; ints pass."""
    if isinstance(value, str):
        found = _DURATION.fullmatch(value.strip())
        if found is None:
            raise ValueError("must be milliseconds or a duration such as '1h', '30m', '90s'")
        return int(found.group(1)) * _DURATION_MS[found.group(2)]
    return value


class VoipConfig(_Section):
    """The TURN server that relays calls; ``/voip/turnServer`` hands out its credentials.

    Either ``turn_shared_secret`` (coturn's ``use-auth-secret``: short-lived
    credentials per user) or the static ``turn_username``/``turn_password`` pair.
    """

    #: e.g. ``turn:turn.example.fr:3478?transport=udp``; empty: no TURN, the endpoint answers {}.
    turn_uris: list[str] = []
    #: coturn's ``static-auth-secret``.
    turn_shared_secret: str | None = None
    turn_username: str | None = None
    turn_password: str | None = None
    #: How long handed-out credentials stay valid: milliseconds or "1h", "30m"...
    turn_user_lifetime: int = Field(default=3_600_000, ge=60_000, le=7 * 86_400_000)

    @field_validator("turn_user_lifetime", mode="before")
    @classmethod
    def _parse_lifetime(cls, value: object) -> object:
        return duration_ms(value)

    @field_validator("turn_uris")
    @classmethod
    def _check_uris(cls, value: list[str]) -> list[str]:
        for uri in value:
            if _TURN_URI.fullmatch(uri) is None:
                raise ValueError(f"'{uri}' must start with turn: or turns:")
        return value

    @model_validator(mode="after")
    def _one_kind_of_credentials(self) -> "VoipConfig":
        static = self.turn_username is not None or self.turn_password is not None
        if static and (self.turn_username is None or self.turn_password is None):
            raise ValueError("turn_username and turn_password go together")
        if static and self.turn_shared_secret is not None:
            raise ValueError("set turn_shared_secret or turn_username/turn_password, not both")
        if self.turn_shared_secret is not None and not self.turn_shared_secret:
            raise ValueError("turn_shared_secret must not be empty")
        has_credentials = static or self.turn_shared_secret is not None
        if self.turn_uris and not has_credentials:
            raise ValueError("turn_uris needs turn_shared_secret or turn_username/turn_password")
        if has_credentials and not self.turn_uris:
            raise ValueError("TURN credentials are set but turn_uris is empty")
        return self


class PresenceConfig(_Section):
    enabled: bool = True


class AccountValidityConfig(_Section):
    """Account expiry (Synapse's account validity): for accounts whose access must end."""

    enabled: bool = False
    #: How long a new account works, in milliseconds (None: new accounts never expire).
    period_ms: int | None = Field(default=None, ge=1)
    #: How long before expiry each renewal email goes out, in milliseconds
    #: (to the account's bound address; its link extends the account by ``period_ms``).
    renewal_reminders_ms: list[int] = [7 * 86_400_000, 86_400_000]

    @field_validator("renewal_reminders_ms")
    @classmethod
    def _longest_first(cls, value: list[int]) -> list[int]:
        if any(lead <= 0 for lead in value):
            raise ValueError("each reminder must be a positive number of milliseconds")
        return sorted(set(value), reverse=True)


class EncryptionConfig(_Section):
    #: Which new rooms get ``m.room.encryption`` at creation.
    encrypt_new_rooms: Literal["all", "not_public", "off"] = "not_public"


class PasswordPolicyConfig(_Section):
    """Rules a new password must meet (registration, change, reset)."""

    #: Shortest password accepted; 0 accepts any non-empty password.
    minimum_length: int = Field(default=0, ge=0, le=512)
    require_digit: bool = False
    require_symbol: bool = False
    require_uppercase: bool = False
    require_lowercase: bool = False


class EmailRoute(_Section):
    """Where the addresses matching one entry or pattern belong."""

    #: The homeserver (server name) whose users these addresses are.
    server: str
    #: Addresses routed here may register only once invited.
    requires_invite: bool = False


class EmailPattern(EmailRoute):
    #: A domain pattern matched against the address's domain, ``*`` for any
    #: run of characters: ``interieur.gouv.fr``, ``*.gouv.fr``.
    domain: str

    @field_validator("domain")
    @classmethod
    def _lower_domain(cls, value: str) -> str:
        value = value.strip().lower()
        if not value or "@" in value or any(c.isspace() for c in value):
            raise ValueError("must be a domain or a domain pattern such as '*.gouv.fr'")
        return value


class EmailRoutingConfig(_Section):
    """Which server each email address belongs to; identical on every server of the federation."""

    #: Exact addresses (lower-cased) and their server, checked first.
    entries: dict[str, EmailRoute] = {}
    #: Domain patterns, checked in order after the entries; the first match wins.
    patterns: list[EmailPattern] = []
    #: The server of external partners: every unmatched address, invitation required.
    external_server: str | None = None
    #: Client networks (CIDR) allowed to call ``/_matrix/identity/api/v1/internal-info``.
    internal_info_networks: list[str] = ["127.0.0.0/8", "::1/128"]

    @field_validator("entries")
    @classmethod
    def _lower_entries(cls, value: dict[str, EmailRoute]) -> dict[str, EmailRoute]:
        return {address.strip().lower(): route for address, route in value.items()}

    @field_validator("internal_info_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"'{network}' is not a network such as 10.0.0.0/8") from None
        return value


class InviteRulesConfig(_Section):
    """Which servers' users may invite which servers' users."""

    #: Inviter's server name -> the server names whose users they may invite.
    domain_mapping: dict[str, list[str]] = {}
    #: Inviters whose server is not in the mapping may invite anyone.
    allow_unmapped_inviters: bool = True


class PolicyConfig(_Section):
    """The state's rules, identical on every server of the federation (docs/policy.md)."""

    password: PasswordPolicyConfig = PasswordPolicyConfig()
    email_routing: EmailRoutingConfig = EmailRoutingConfig()
    #: Users may not change their display name (it is derived from their email).
    lock_display_name: bool = False
    #: Users may not add or remove email addresses on their account.
    lock_email: bool = False
    #: Email domain -> organisation shown in derived display names ("Jean Dupont [Intérieur]").
    organisations: dict[str, str] = {}
    #: When a room's last power-100 member leaves, promote the next in rank first.
    promote_when_last_admin_leaves: bool = True
    #: Room access rules (restricted / unrestricted / direct) and the state's room
    #: defaults: history from the invitation, moderator and admin power levels.
    room_access_rules: bool = False
    #: Servers whose users are external partners (besides ``email_routing.external_server``).
    external_servers: list[str] = []
    invite_rules: InviteRulesConfig = InviteRulesConfig()
    #: How long an invitation by email waits for its invitee to register (7 days).
    email_invite_lifetime_ms: int = Field(default=7 * 86_400_000, ge=60_000)


class WebClientConfig(_Section):
    """The web client served at ``/`` (the build of ``web/``)."""

    enabled: bool = True
    #: The built client's folder; unset: the packaged build or the checkout's ``web/dist``.
    path: str | None = None
    #: The product name the client shows (title, login screen).
    brand: str = Field(default="Sceau", min_length=1, max_length=64)


class FederationListener(_Section):
    """The TLS listener other servers connect to."""

    bind_address: str = "0.0.0.0"
    port: int = Field(default=8448, ge=0, le=65535)
    tls_certificate_path: str
    tls_private_key_path: str


class FederationConfig(_Section):
    """The Server-Server API: off unless enabled, and then only with ``allow``."""

    #: Nothing is sent or accepted over federation unless this is true.
    enabled: bool = False
    #: Server names (with their port, if any) this server federates with; no other.
    allow: list[str] = []
    #: The TLS listener for other servers; None: federation is served by no listener.
    listen: FederationListener | None = None
    #: CA bundle (PEM) that outbound TLS verifies against; None: the system store.
    ca_file: str | None = None
    #: Server name -> {key ID: base64 public key}; these servers' keys are never fetched.
    pinned_keys: dict[str, dict[str, str]] = {}
    #: Notary servers asked for other servers' keys (empty: ask each server itself).
    trusted_key_servers: list[str] = []
    #: Whether the notary endpoint /key/v2/query may fetch keys it has not cached.
    notary_fetches: bool = False
    #: How long this server's published key response stays valid, in milliseconds.
    key_validity_ms: int = Field(default=24 * 3600 * 1000, ge=60_000)
    #: First and longest wait before retrying an unreachable destination.
    min_retry_interval_ms: int = Field(default=5_000, ge=10)
    max_retry_interval_ms: int = Field(default=3_600_000, ge=10)
    #: Timeout of one outbound request, in seconds.
    request_timeout_s: float = Field(default=30, gt=0, le=600)

    @field_validator("allow", "trusted_key_servers")
    @classmethod
    def _check_names(cls, value: list[str]) -> list[str]:
        from sceau.protocol.federation import parse_server_name

        for name in value:
            try:
                parse_server_name(name)
            except ValueError as exc:
                raise ValueError(f"{name!r} is not a server name: {exc}") from None
        return value

    @field_validator("pinned_keys")
    @classmethod
    def _check_pinned(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        from sceau.protocol.base64 import decode_base64

        for server, keys in value.items():
            for key_id, public in keys.items():
                if not key_id.startswith("ed25519:"):
                    raise ValueError(f"{server}: key ID {key_id!r} must start with 'ed25519:'")
                try:
                    ok = len(decode_base64(public)) == 32
                except ValueError:
                    ok = False
                if not ok:
                    raise ValueError(f"{server}: key {key_id} is not a base64 ed25519 key")
        return value

    @model_validator(mode="after")
    def _retry_order(self) -> "FederationConfig":
        if self.max_retry_interval_ms < self.min_retry_interval_ms:
            raise ValueError("max_retry_interval_ms must be >= min_retry_interval_ms")
        return self


class LoggingConfig(_Section):
    #: One line per HTTP request on the ``sceau.access`` logger (no tokens, no secrets).
    access_log: bool = True


class MetricsConfig(_Section):
    """Prometheus metrics, on a listener of their own (never the public one)."""

    enabled: bool = False
    bind_address: str = "127.0.0.1"
    port: int = Field(default=9108, ge=1, le=65535)


WorkerRole = Literal["main", "event_writer", "sync", "media", "federation_sender"]


class WorkerInstance(_Section):
    """One ``sceau serve --worker NAME`` process of a multi-process deployment."""

    #: ``main`` runs background jobs and writes events when no ``event_writer``
    #: exists; ``event_writer`` instances share the rooms by a hash of the room
    #: ID; ``sync`` and ``media`` serve what the reverse proxy routes to them
    #: (``docs/deployment.md``); the one ``federation_sender`` (at most one)
    #: sends the federation queue instead of ``main``.
    roles: list[WorkerRole] = Field(min_length=1)
    #: The client-facing listener of this process (the reverse proxy's upstream).
    bind_address: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    #: The private listener other processes forward writes to (never public).
    replication_port: int = Field(ge=1, le=65535)


class WorkersConfig(_Section):
    """Several processes on one PostgreSQL, with Redis between them (empty: one process)."""

    #: Where positions, wake-ups and cache invalidations travel between processes.
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Shared by every instance; authenticates the replication listeners.
    replication_secret: str | None = None
    #: A process not heard of through Redis for this long (killed, cut off) stops
    #: holding the others' syncs back; one that cannot publish for a third of it
    #: refuses writes (503) first, so nothing it writes can be skipped.
    dead_after_s: float = Field(default=30.0, ge=6.0, le=600.0)
    instances: dict[str, WorkerInstance] = {}

    @model_validator(mode="after")
    def _one_main(self) -> "WorkersConfig":
        if not self.instances:
            return self
        mains = [name for name, inst in self.instances.items() if "main" in inst.roles]
        if len(mains) != 1:
            raise ValueError("workers.instances needs exactly one instance with the 'main' role")
        if not self.replication_secret:
            raise ValueError("workers.replication_secret is required when instances are listed")
        senders = [n for n, inst in self.instances.items() if "federation_sender" in inst.roles]
        if len(senders) > 1:
            # Two queues would send each item twice and race on its deletion.
            raise ValueError(
                "at most one instance may have the 'federation_sender' role, not "
                + ", ".join(sorted(senders))
            )
        for name in self.instances:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ValueError(f"worker name {name!r} must match [a-z0-9_]{{1,32}}")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.instances)

    def main_name(self) -> str:
        return next(name for name, inst in self.instances.items() if "main" in inst.roles)

    def federation_sender_name(self) -> str:
        """The one instance that sends the federation queue: ``main`` unless one is named."""
        return next(
            (n for n, inst in self.instances.items() if "federation_sender" in inst.roles),
            self.main_name(),
        )

    def event_writers(self) -> list[str]:
        """Instances writing room events, in a stable order (main when there is none)."""
        writers = sorted(n for n, inst in self.instances.items() if "event_writer" in inst.roles)
        return writers or [self.main_name()]


class Config(_Section):
    server_name: str
    public_baseurl: str | None = None
    listeners: list[Listener] = [Listener()]
    database: DatabaseConfig = DatabaseConfig()
    signing_key_path: str = "signing.key"
    registration: RegistrationConfig = RegistrationConfig()
    email: EmailConfig = EmailConfig()
    rate_limits: RateLimitConfig = RateLimitConfig()
    limits: LimitsConfig = LimitsConfig()
    sessions: SessionsConfig = SessionsConfig()
    push: PushConfig = PushConfig()
    media: MediaConfig = MediaConfig()
    presence: PresenceConfig = PresenceConfig()
    encryption: EncryptionConfig = EncryptionConfig()
    account_validity: AccountValidityConfig = AccountValidityConfig()
    policy: PolicyConfig = PolicyConfig()
    web_client: WebClientConfig = WebClientConfig()
    federation: FederationConfig = FederationConfig()
    voip: VoipConfig = VoipConfig()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()
    workers: WorkersConfig = WorkersConfig()
    #: Room version for new rooms when the client does not ask for one.
    default_room_version: str = "11"
    #: Folder that holds the config file; relative paths are resolved against it.
    data_dir: str = "."

    @field_validator("server_name")
    @classmethod
    def _check_server_name(cls, value: str) -> str:
        if not value or any(c.isspace() or c in "/@!#$" for c in value):
            raise ValueError("must be a host name such as 'ministere.gouv.fr'")
        return value

    @field_validator("default_room_version")
    @classmethod
    def _check_room_version(cls, value: str) -> str:
        if value not in {"10", "11", "12"}:
            raise ValueError("must be one of '10', '11', '12'")
        return value

    @model_validator(mode="after")
    def _email_mode_needs_smtp(self) -> "Config":
        if self.registration.mode == "email" and not self.email.smtp_host:
            raise ValueError("registration.mode 'email' needs email.smtp_host")
        routing = self.policy.email_routing
        routed = routing.entries or routing.patterns or routing.external_server
        if self.registration.mode == "email" and not (self.registration.email_domains or routed):
            raise ValueError(
                "registration.mode 'email' needs registration.email_domains or policy.email_routing"
            )
        return self

    @model_validator(mode="after")
    def _workers_need_postgresql(self) -> "Config":
        if self.workers.enabled and self.database.backend != "postgresql":
            raise ValueError(
                "workers.instances needs database.backend 'postgresql': "
                "SQLite is the single-process embedded default"
            )
        return self

    @model_validator(mode="after")
    def _metrics_off_the_public_port(self) -> "Config":
        if self.metrics.enabled and any(
            listener.port == self.metrics.port for listener in self.listeners
        ):
            raise ValueError(
                "metrics.port must differ from every listener's port: "
                "metrics are never served on the public port"
            )
        return self

    def resolve_path(self, path: str) -> Path:
        """A path from the config, made absolute against the data folder."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else Path(self.data_dir) / candidate

    @property
    def base_url(self) -> str:
        if self.public_baseurl:
            return self.public_baseurl.rstrip("/") + "/"
        listener = self.listeners[0]
        return f"http://{self.server_name}:{listener.port}/"


def parse_config(raw: object, data_dir: str) -> Config:
    """Validate a decoded YAML document; raise ConfigError naming the bad key."""
    if not isinstance(raw, dict):
        raise ConfigError("the config file must be a YAML mapping of keys to values")
    try:
        return Config.model_validate({**raw, "data_dir": data_dir})
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def load_config(path: Path) -> Config:
    """Read and validate the config file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return parse_config(raw, str(path.parent.resolve()))


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}'")
        elif err["type"] == "missing":
            lines.append(f"missing key '{key}'")
        else:
            lines.append(f"invalid value for '{key}': {err['msg']}")
    return "; ".join(lines)


DEFAULT_CONFIG_TEMPLATE = """\
# Sceau homeserver configuration.
# Generated on first start; every key is optional except server_name.
# Relative paths are resolved against the folder that holds this file.

# The domain in your users' IDs (@alice:SERVER_NAME). Cannot change later.
server_name: "{server_name}"

# The URL clients use to reach this server (advertised in .well-known).
public_baseurl: "http://{bind}:{port}/"

listeners:
  - bind_address: "{bind}"
    port: {port}

database:
  # "sqlite" (embedded, the default) or "postgresql" (production).
  backend: sqlite
  path: sceau.db
  # dsn: "postgresql://sceau@127.0.0.1:5432/sceau"

# The server's ed25519 signing key, generated on first start.
signing_key_path: signing.key

registration:
  # closed: only `sceau admin create-user` creates accounts.
  # open: anyone may register. token: registration needs one of `tokens`.
  # email: registration needs a validated address whose domain is listed in
  # `email_domains` and owned by this server (the `email` section must be set).
  mode: closed
  tokens: []
  # Email domain -> server name of the ministry's homeserver that owns it.
  email_domains: {{}}
  #   interieur.gouv.fr: interieur.tchap.gouv.fr
  #   justice.gouv.fr: justice.tchap.gouv.fr

# The SMTP server that sends validation links (registration, password reset).
# Links point at public_baseurl. No other outbound connection is made.
email:
  # smtp_host: "smtp.interieur.gouv.fr"
  smtp_port: 25
  # smtp_username: "sceau"
  # smtp_password: "..."
  smtp_starttls: false
  smtp_ssl: false
  from_address: "Sceau <noreply@localhost>"
  token_lifetime_s: 86400

rate_limits:
  enabled: true
  message: {{per_second: 10, burst: 50}}
  registration: {{per_second: 0.5, burst: 10}}
  login: {{per_second: 1, burst: 10}}
  media: {{per_second: 1, burst: 30}}
  report: {{per_second: 1, burst: 5}}
  email: {{per_second: 0.05, burst: 5}}
  turn: {{per_second: 0.1, burst: 10}}

push:
  # The push gateways (Sygnal or similar) phones' pushers may use; any other
  # URL is refused. Empty: no notification leaves this server.
  allowed_gateways: []
  #   - "https://sygnal.interieur.gouv.fr/_matrix/push/v1/notify"
  # Send message content to the gateway (never for encrypted rooms).
  include_content: false
  # Email pushers: one summary email once notifications stay unread this long.
  email_delay_ms: 600000

sessions:
  # Clients that ask for a refresh token get access tokens that expire after
  # this long (5 minutes); they renew them with POST /refresh.
  refreshable_access_token_lifetime_ms: 300000

limits:
  # Largest JSON request body; media uploads have their own limit below.
  max_request_bytes: 1048576
  max_sync_timeout_ms: 60000
  # Password hashes computed at once (7 MiB each); a burst of logins or
  # registrations queues beyond this. Unset: one per core, at most four.
  # password_hash_concurrency: 2
  # Initial or full-state /syncs computed at once; a burst of them queues
  # beyond this. Unset: two per core, at most eight.
  # full_sync_concurrency: 4

media:
  # Uploaded files and thumbnails, relative to this folder.
  store_path: media
  # Largest upload in bytes (50 MiB); larger ones answer 413 M_TOO_LARGE.
  max_upload_bytes: 52428800
  # Media IDs a user may reserve with /media/v1/create before uploading.
  max_pending_uploads: 5
  # Larger images are not thumbnailed (protects against decompression bombs).
  max_thumbnail_pixels: 32000000
  # Scan uploads with ClamAV's clamd before accepting them; infected files
  # answer 403 M_FORBIDDEN. clamd is the only thing contacted.
  # The deprecated download paths that need no login (/_matrix/media/v3/download,
  # /thumbnail): off, so media stays behind a login; they answer 404 M_NOT_FOUND.
  legacy_unauthenticated_media: false
  antivirus:
    enabled: false
    # "unix:///run/clamav/clamd.ctl" or "tcp://127.0.0.1:3310".
    clamd: "unix:///run/clamav/clamd.ctl"
    timeout_s: 30
    # When clamd is down or fails: reject (503, the default) or accept unscanned.
    on_error: reject
  # The content scanner (/_matrix/media_proxy/unstable): clients have encrypted
  # attachments decrypted in memory and scanned by clamd before showing them.
  # Needs the antivirus above.
  content_scanner:
    enabled: false
    key_path: content_scanner.key

presence:
  enabled: true

encryption:
  # Which new rooms are end-to-end encrypted: all, not_public or off.
  encrypt_new_rooms: not_public

account_validity:
  # When enabled, new accounts stop working period_ms after they are made
  # (e.g. 7776000000 for 90 days); admins extend them through the admin API.
  enabled: false
  period_ms: null
  # Renewal emails go out this long before expiry (7 days, then 1 day); their
  # single-use link extends the account by period_ms.
  renewal_reminders_ms: [604800000, 86400000]

# The state's rules; keep this section identical on every server of the
# federation (see docs/policy.md).
policy:
  # Rules for new passwords (registration, change, reset).
  password:
    minimum_length: 12
    require_digit: true
    require_symbol: true
    require_uppercase: true
    require_lowercase: true
  # Which server each email address belongs to. Exact addresses first, then
  # domain patterns in order; unmatched addresses go to external_server, by
  # invitation only.
  email_routing:
    entries: {{}}
    #   prefet.x@interieur.gouv.fr: {{server: elysee.example, requires_invite: false}}
    patterns: []
    #   - {{domain: "interieur.gouv.fr", server: "interieur.example"}}
    #   - {{domain: "*.gouv.fr", server: "agents.example"}}
    # external_server: "externes.example"
    internal_info_networks: ["127.0.0.0/8", "::1/128"]
  lock_display_name: false
  lock_email: false
  # Email domain -> organisation shown in derived display names.
  organisations: {{}}
  # When a room's last administrator leaves, the members with the highest
  # remaining level become administrators (or everyone, if nobody has one).
  promote_when_last_admin_leaves: true
  # Room access rules: restricted rooms (the default) are closed to external
  # partners, unrestricted ones admit them by invitation, direct chats keep
  # two members. New rooms get history from the invitation and moderator (50)
  # and administrator (100) power levels. See docs/policy.md.
  room_access_rules: true
  # Servers of external partners, besides email_routing.external_server.
  external_servers: []
  # Which servers' users may invite which servers' users; inviters of servers
  # not listed may invite anyone while allow_unmapped_inviters is true.
  invite_rules:
    domain_mapping: {{}}
    #   externes.example: [agents.example]
    allow_unmapped_inviters: true
  # How long an invitation by email waits for its invitee to register.
  email_invite_lifetime_ms: 604800000

web_client:
  # Serve the web client at / (built from web/ by ./scripts/serve).
  enabled: true
  # The built client's folder; unset: the checkout's web/dist.
  # path: /usr/share/sceau/web
  # The name the client shows.
  brand: "Sceau"

federation:
  # Off by default: nothing is sent to, or accepted from, another server.
  enabled: false
  # The only servers this one talks to (names exactly as in user IDs, port included).
  allow: []
  #   - interieur.tchap.gouv.fr
  #   - justice.tchap.gouv.fr
  # listen:
  #   bind_address: "0.0.0.0"
  #   port: 8448
  #   tls_certificate_path: federation.crt
  #   tls_private_key_path: federation.key
  # CA bundle outbound TLS trusts instead of the system store.
  # ca_file: ministries-ca.pem
  # Keys used as-is, never fetched: {{server: {{"ed25519:key_id": base64 public key}}}}.
  pinned_keys: {{}}
  trusted_key_servers: []

# TURN relay for voice and video calls (see docs/calls.md). Without turn_uris,
# clients get no relay and calls between two NATs may fail to connect.
voip:
  turn_uris: []
  #   - "turn:turn.{server_name}:3478?transport=udp"
  #   - "turn:turn.{server_name}:3478?transport=tcp"
  # The same value as coturn's static-auth-secret (use-auth-secret).
  # turn_shared_secret: "..."
  # How long handed-out credentials stay valid.
  turn_user_lifetime: 1h

default_room_version: "11"

logging:
  # One line per HTTP request (address, method, path, status, duration, user)
  # on standard error. Access tokens and secret query parameters never appear.
  access_log: true

# Prometheus metrics on a listener of their own, off by default; never on the
# public port. Scrape http://BIND_ADDRESS:PORT/metrics (docs/operations.md).
metrics:
  enabled: false
  bind_address: "127.0.0.1"
  port: 9108
"""


def render_default_config(server_name: str, bind: str = "127.0.0.1", port: int = 8008) -> str:
    """The commented config written on first start."""
    return DEFAULT_CONFIG_TEMPLATE.format(server_name=server_name, bind=bind, port=port)
