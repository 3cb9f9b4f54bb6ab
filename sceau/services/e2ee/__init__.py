"""End-to-end encryption support: everything clients need, and no plaintext."""

from dataclasses import dataclass

from sceau.clock import Clock
from sceau.notifier import Notifier
from sceau.services.e2ee.cross_signing import CrossSigningService
from sceau.services.e2ee.dehydrated import DehydratedDeviceService
from sceau.services.e2ee.device_lists import DeviceListService
from sceau.services.e2ee.key_backup import KeyBackupService
from sceau.services.e2ee.keys import KeyService
from sceau.services.e2ee.to_device import ToDeviceService
from sceau.storage.accounts import AccountStore
from sceau.storage.database import Database
from sceau.storage.e2ee.cross_signing import CrossSigningStore
from sceau.storage.e2ee.dehydrated import DehydratedDeviceStore
from sceau.storage.e2ee.device_lists import DeviceListStore
from sceau.storage.e2ee.key_backup import KeyBackupStore
from sceau.storage.e2ee.keys import DeviceKeyStore
from sceau.storage.e2ee.to_device import ToDeviceStore
from sceau.storage.state import StateStore
from sceau.streams import ChangeTracker, StreamIdGenerator


@dataclass
class E2eeServices:
    device_lists: DeviceListService
    keys: KeyService
    cross_signing: CrossSigningService
    to_device: ToDeviceService
    key_backup: KeyBackupService
    dehydrated: DehydratedDeviceService


def build_e2ee(
    *,
    server_name: str,
    clock: Clock,
    db: Database,
    accounts: AccountStore,
    state: StateStore,
    stream: StreamIdGenerator,
    notifier: Notifier,
    member_changes: ChangeTracker | None = None,
) -> E2eeServices:
    key_store = DeviceKeyStore(db)
    cross_store = CrossSigningStore(db)
    inbox = ToDeviceStore(db)
    device_lists = DeviceListService(
        db=db,
        store=DeviceListStore(db),
        state=state,
        stream=stream,
        notifier=notifier,
        member_changes=member_changes,
    )
    keys = KeyService(
        server_name=server_name,
        db=db,
        keys=key_store,
        cross_signing=cross_store,
        inbox=inbox,
        device_lists=device_lists,
    )
    to_device = ToDeviceService(
        server_name=server_name,
        clock=clock,
        db=db,
        store=inbox,
        accounts=accounts,
        stream=stream,
        notifier=notifier,
    )
    return E2eeServices(
        device_lists=device_lists,
        keys=keys,
        cross_signing=CrossSigningService(
            db=db,
            store=cross_store,
            keys=key_store,
            accounts=accounts,
            stream=stream,
            device_lists=device_lists,
        ),
        to_device=to_device,
        key_backup=KeyBackupService(KeyBackupStore(db)),
        dehydrated=DehydratedDeviceService(
            clock=clock,
            db=db,
            store=DehydratedDeviceStore(db),
            accounts=accounts,
            keys=keys,
            to_device=to_device,
        ),
    )
