"""Federation plugged into the core: the transport, the queue, EDUs and queries.

Called once from :func:`sceau.homeserver.build_services`, after every other
service exists, since federation feeds and reads nearly all of them.
"""

from typing import TYPE_CHECKING, Any

from sceau.services.federation import FederationServices, build_transport
from sceau.services.federation.inbound_edus import InboundEdus
from sceau.services.federation.openid import OpenIdService
from sceau.services.federation.outbound import OutboundFanout
from sceau.services.federation.queries import FederationQueries
from sceau.services.federation.remote import RemoteMediaFetcher, RemoteQueries
from sceau.services.federation.sender import FederationSender
from sceau.services.federation.transactions import InboundTransactions
from sceau.services.media import check_filename, clean_content_type
from sceau.services.policy.email_invites_remote import EmailInviteFederation
from sceau.services.policy.identity_accounts import IdentityAccounts
from sceau.services.remote_media import RemoteMediaCache
from sceau.storage.federation import ReceivedTransactionStore
from sceau.storage.federation_media import RemoteMediaStore
from sceau.storage.federation_openid import OpenIdTokenStore
from sceau.storage.federation_queue import OutboxStore
from sceau.storage.identity_tokens import IdentityTokenStore

if TYPE_CHECKING:
    import httpx

    from sceau.homeserver import Services


def add_federation(services: "Services", http: "httpx.AsyncClient | None" = None) -> None:
    """Build the federation services; with federation disabled they refuse everything.

    ``http`` replaces the outbound HTTPS client (tests route it to in-process servers).
    """
    config, db = services.config, services.stores.db
    fed = build_transport(
        config=config, clock=services.clock, db=db, signing_key=services.signing_key, http=http
    )
    services.federation = fed
    fed.sender = FederationSender(
        policy=fed.policy,
        client=fed.client,
        db=db,
        store=OutboxStore(db),
        clock=services.clock,
        config=config.federation,
    )
    fed.authenticator.on_authenticated.append(fed.sender.peer_is_up)
    fed.transactions = InboundTransactions(
        clock=services.clock,
        store=ReceivedTransactionStore(db),
        edus=InboundEdus(
            typing=services.typing,
            receipts=services.receipts,
            presence=services.presence,
            device_lists=services.e2ee.device_lists,
            to_device=services.e2ee.to_device,
        ),
        receiver=lambda: fed.pdu_receiver,
    )
    _add_outbound(services, fed)
    _add_queries(services, fed)


def _add_queries(services: "Services", fed: FederationServices) -> None:
    """Answer other servers' queries; ask them about their users when federation is on."""
    stores = services.stores
    fed.queries = FederationQueries(
        server_name=services.config.server_name,
        accounts=stores.accounts,
        profile=services.profile,
        rooms=stores.rooms,
        state=stores.state,
        keys=services.e2ee.keys,
        room_directory=services.room_directory,
        stream=services.stream,
    )
    fed.remote = RemoteQueries(policy=fed.policy, client=fed.client)
    fed.openid = OpenIdService(
        server_name=services.config.server_name,
        clock=services.clock,
        store=OpenIdTokenStore(stores.db),
    )
    services.identity_accounts = IdentityAccounts(
        server_name=services.config.server_name,
        clock=services.clock,
        store=IdentityTokenStore(stores.db),
        local_userinfo=fed.openid.userinfo,
        client=fed.client if fed.policy.enabled else None,
    )
    if fed.policy.enabled:
        max_bytes = services.config.media.max_upload_bytes
        services.media.remote = RemoteMediaCache(
            clock=services.clock,
            files=services.media.files,
            store=RemoteMediaStore(stores.db),
            fetch=RemoteMediaFetcher(policy=fed.policy, client=fed.client, max_bytes=max_bytes),
            scan=services.media.check_clean,
            max_bytes=max_bytes,
            clean_content_type=clean_content_type,
            check_filename=check_filename,
        )
        services.profile.remote = fed.remote.profile
        services.user_directory.remote_hidden = fed.remote.hides_profile
        services.rooms.remote_profile = fed.remote.profile
        services.e2ee.keys.remote = fed.remote.keys
        services.room_directory.remote = fed.remote.public_rooms
        services.email_invites.remote = EmailInviteFederation(fed.client, fed.policy)


def _add_outbound(services: "Services", fed: FederationServices) -> None:
    """Local activity in shared rooms goes out: events, typing, receipts, presence, keys."""
    out = OutboundFanout(policy=fed.policy, sender=fed.sender, state=services.stores.state)
    fed.outbound = out
    services.events.persist_hooks.append(out.on_events)
    services.typing.hooks.append(out.typing)
    services.receipts.hooks.append(out.receipt)
    services.presence.changed_hooks.append(out.presence)
    services.e2ee.to_device.remote_sink = out.to_device
    keys = services.e2ee.keys

    async def devices_changed(user_ids: list[str], position: int) -> None:
        for user_id in user_ids:
            if not fed.policy.enabled or not user_id.endswith(":" + fed.policy.server_name):
                continue
            queried = await keys.query(user_id, {user_id: []})
            found = queried["device_keys"].get(user_id, {})
            devices: list[tuple[str, dict[str, Any] | None, str | None]] = []
            for account_device in await services.stores.accounts.get_devices(user_id):
                device_keys = found.get(account_device.device_id)
                devices.append((account_device.device_id, device_keys, account_device.display_name))
            await out.device_list_update(user_id, position, devices)
            cross = {
                field: queried[section][user_id]
                for section, field in (
                    ("master_keys", "master_key"),
                    ("self_signing_keys", "self_signing_key"),
                )
                if user_id in queried.get(section, {})
            }
            if cross:
                await out.signing_key_update(user_id, cross)

    async def devices_deleted(user_id: str, device_ids: list[str]) -> None:
        await out.device_list_update(user_id, services.stream.current(), [], deleted=device_ids)

    services.e2ee.device_lists.changed_hooks.append(devices_changed)
    services.account_hooks.devices_deleted.append(devices_deleted)
