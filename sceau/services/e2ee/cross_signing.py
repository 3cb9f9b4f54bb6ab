"""Cross-signing: /keys/device_signing/upload and /keys/signatures/upload.

Every signature is verified before it is stored, so /keys/query never serves a
signature that does not hold. Signatures a user makes with their user-signing
key on someone else's master key are shown only to that user (spec: they are
private to the signer).
"""

from typing import Any

from sceau.errors import MatrixError, bad_json, forbidden, missing_param
from sceau.protocol.types import JsonDict
from sceau.services.e2ee.device_lists import DeviceListService
from sceau.services.e2ee.validation import (
    canonical,
    check_cross_signing_key,
    ed25519_key,
    has_valid_signature,
    invalid_signature,
    signable,
)
from sceau.storage.accounts import AccountStore
from sceau.storage.database import Database
from sceau.storage.e2ee.cross_signing import CrossSigningStore, StoredSignature
from sceau.storage.e2ee.keys import DeviceKeyStore
from sceau.streams import StreamIdGenerator

FIELDS = (
    ("master", "master_key"),
    ("self_signing", "self_signing_key"),
    ("user_signing", "user_signing_key"),
)


def _public(key: JsonDict) -> str:
    (public,) = list(key["keys"].values())
    return str(public)


class CrossSigningService:
    def __init__(
        self,
        *,
        db: Database,
        store: CrossSigningStore,
        keys: DeviceKeyStore,
        accounts: AccountStore,
        stream: StreamIdGenerator,
        device_lists: DeviceListService,
    ) -> None:
        self._db = db
        self._store = store
        self._keys = keys
        self._accounts = accounts
        self._stream = stream
        self._device_lists = device_lists

    async def needs_auth(self, user_id: str, body: JsonDict) -> bool:
        """UIA is needed unless there is no master key yet, or nothing new is uploaded."""
        current = await self._store.get_keys(user_id)
        if "master" not in current:
            return False
        for key_type, field in FIELDS:
            new = body.get(field)
            if new is not None and (
                key_type not in current or _canonical(current[key_type]) != _canonical(new)
            ):
                return True
        return False

    async def upload_keys(self, user_id: str, body: JsonDict) -> None:
        """Store the uploaded cross-signing keys after checking them all."""
        current = await self._store.get_keys(user_id)
        uploaded: dict[str, tuple[str, JsonDict]] = {}
        for key_type, field in FIELDS:
            key = body.get(field)
            if key is not None:
                public, _raw = check_cross_signing_key(key, user_id, key_type)
                uploaded[key_type] = (public, {k: v for k, v in key.items() if k != "unsigned"})
        if not uploaded:
            return
        master = uploaded.get("master", (None, current.get("master")))[1]
        if master is None:
            raise missing_param("master_key")
        master_public = _public(master)
        master_bytes = ed25519_key(master_public)
        for key_type in ("self_signing", "user_signing"):
            if key_type in uploaded and not has_valid_signature(
                uploaded[key_type][1], user_id, f"ed25519:{master_public}", master_bytes
            ):
                raise invalid_signature(f"The {key_type} key is not signed by the master key")
        device_ids = {d.device_id for d in await self._accounts.get_devices(user_id)}
        if any(public in device_ids for public, _key in uploaded.values()):
            raise forbidden("Key ID in use")
        async with self._stream.next_position() as pos, self._db.transaction() as txn:
            for key_type, (public, key) in uploaded.items():
                old = current.get(key_type)
                if old is not None and _public(old) != public:
                    await self._forget_old_key(txn, user_id, key_type, _public(old))
                await self._store.set_key(txn, user_id, key_type, public, key, pos)
        await self._device_lists.mark_changed([user_id])

    async def _forget_old_key(self, txn: Any, user_id: str, key_type: str, public: str) -> None:
        """A replaced key's signatures (on it, or made with it) vouch for nothing now."""
        if key_type == "master":
            await self._store.delete_signatures_on(txn, user_id, public)
        else:
            await self._store.delete_signatures_by(txn, user_id, f"ed25519:{public}")

    async def account_deactivated(self, user_id: str) -> None:
        """Hook: a closed account publishes no cross-signing identity any more."""
        async with self._db.transaction() as txn:
            await self._store.delete_user(txn, user_id)
        await self._device_lists.mark_changed([user_id])

    async def upload_signatures(self, requester: str, body: JsonDict) -> JsonDict:
        """Verify and store each signature; report failures per key."""
        failures: dict[str, dict[str, JsonDict]] = {}
        accepted: list[StoredSignature] = []
        own = await self._store.get_keys(requester)
        for user_id, objects in body.items():
            if not isinstance(objects, dict):
                raise bad_json("Each user must map key IDs to signed objects")
            for key_id, obj in objects.items():
                try:
                    if not isinstance(obj, dict):
                        raise bad_json("A signed key must be an object")
                    accepted.extend(await self._check(requester, own, user_id, key_id, obj))
                except MatrixError as err:
                    failures.setdefault(user_id, {})[key_id] = {
                        "errcode": err.errcode,
                        "error": err.error,
                    }
        if accepted:
            async with self._db.transaction() as txn:
                for sig in accepted:
                    await self._store.add_signature(txn, sig)
            await self._device_lists.mark_changed(
                {requester} | {s.target_user_id for s in accepted if s.target_user_id == requester}
            )
        return {"failures": failures}

    async def _check(
        self, requester: str, own: dict[str, JsonDict], user_id: str, key_id: str, obj: JsonDict
    ) -> list[StoredSignature]:
        if obj.get("user_id") != user_id:
            raise MatrixError(400, "M_INVALID_PARAM", "user_id does not match")
        if user_id != requester:
            return [await self._user_signature(requester, own, user_id, key_id, obj)]
        master = own.get("master")
        if master is not None and key_id == _public(master):
            return await self._device_signatures_on_master(requester, master, obj)
        device_keys = await self._keys.get_device_keys(user_id, key_id)
        if device_keys is None:
            raise MatrixError(404, "M_NOT_FOUND", "Unknown device or key")
        return [self._self_signature(requester, own, key_id, device_keys, obj)]

    def _self_signature(
        self,
        user_id: str,
        own: dict[str, JsonDict],
        device_id: str,
        stored: JsonDict,
        obj: JsonDict,
    ) -> StoredSignature:
        """A device signed by the user's self-signing key."""
        ssk = own.get("self_signing")
        if ssk is None:
            raise MatrixError(400, "M_MISSING_PARAM", "No self-signing key uploaded")
        if signable(stored) != signable(obj):
            raise invalid_signature("The signed device keys do not match the stored keys")
        public = _public(ssk)
        key_id = f"ed25519:{public}"
        if not has_valid_signature(obj, user_id, key_id, ed25519_key(public)):
            raise invalid_signature("Invalid self-signing signature")
        return StoredSignature(
            user_id, device_id, user_id, key_id, obj["signatures"][user_id][key_id]
        )

    async def _device_signatures_on_master(
        self, user_id: str, master: JsonDict, obj: JsonDict
    ) -> list[StoredSignature]:
        """The user's own devices vouching for their master key."""
        if signable(master) != signable(obj):
            raise invalid_signature("The signed master key does not match the stored key")
        found = []
        all_signatures = obj.get("signatures")
        signatures = all_signatures.get(user_id) if isinstance(all_signatures, dict) else None
        if not isinstance(signatures, dict):
            signatures = {}
        for sig_key_id, signature in signatures.items():
            if not isinstance(sig_key_id, str) or not sig_key_id.startswith("ed25519:"):
                continue
            device_id = sig_key_id.split(":", 1)[1]
            if device_id == _public(master):
                continue
            device_keys = await self._keys.get_device_keys(user_id, device_id)
            if device_keys is None:
                continue
            device_key = ed25519_key(device_keys["keys"].get(sig_key_id))
            if not has_valid_signature(obj, user_id, sig_key_id, device_key):
                raise invalid_signature(f"Invalid signature by device {device_id}")
            found.append(StoredSignature(user_id, _public(master), user_id, sig_key_id, signature))
        if not found:
            raise invalid_signature("No valid device signature on the master key")
        return found

    async def _user_signature(
        self, requester: str, own: dict[str, JsonDict], user_id: str, key_id: str, obj: JsonDict
    ) -> StoredSignature:
        """Another user's master key signed by the requester's user-signing key."""
        usk = own.get("user_signing")
        if usk is None:
            raise MatrixError(400, "M_MISSING_PARAM", "No user-signing key uploaded")
        target_master = (await self._store.get_keys(user_id)).get("master")
        if target_master is None or _public(target_master) != key_id:
            raise MatrixError(404, "M_NOT_FOUND", "Unknown master key")
        if signable(target_master) != signable(obj):
            raise invalid_signature("The signed master key does not match the stored key")
        public = _public(usk)
        sig_key_id = f"ed25519:{public}"
        if not has_valid_signature(obj, requester, sig_key_id, ed25519_key(public)):
            raise invalid_signature("Invalid user-signing signature")
        return StoredSignature(
            user_id, key_id, requester, sig_key_id, obj["signatures"][requester][sig_key_id]
        )


def _canonical(value: Any) -> bytes:
    return canonical(value)
