"""Device keys, one-time keys and fallback keys: /keys/upload, /keys/query, /keys/claim.

The server only ever holds public keys. It checks that each device signs its
own keys, so a compromised server cannot be *made* to hand out forged keys by
a third party, and it hands each one-time key out at most once.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from sceau.errors import bad_json, invalid_param
from sceau.protocol.identifiers import is_valid_user_id
from sceau.protocol.types import JsonDict
from sceau.services.e2ee.device_lists import DeviceListService
from sceau.services.e2ee.validation import (
    canonical,
    check_device_keys,
    check_signed_key,
    ed25519_key,
)
from sceau.services.sync import SyncContext
from sceau.storage.database import Database
from sceau.storage.e2ee.cross_signing import CrossSigningStore, StoredSignature
from sceau.storage.e2ee.keys import DeviceKeyStore
from sceau.storage.e2ee.to_device import ToDeviceStore

DEFAULT_OTK_ALGORITHM = "signed_curve25519"
#: Most one-time keys a single upload may carry.
MAX_KEYS_PER_UPLOAD = 1000


COUNT_CACHE_SIZE = 10_000
#: What a remote server's keys/query or keys/claim answer may contribute.
_REMOTE_SECTIONS = ("device_keys", "master_keys", "self_signing_keys", "one_time_keys")


class KeyService:
    def __init__(
        self,
        *,
        server_name: str,
        db: Database,
        keys: DeviceKeyStore,
        cross_signing: CrossSigningStore,
        inbox: ToDeviceStore,
        device_lists: DeviceListService,
    ) -> None:
        self._server_name = server_name
        self._db = db
        self._keys = keys
        self._cross = cross_signing
        self._inbox = inbox
        self._device_lists = device_lists
        # Key counts by device for /sync, dropped whenever a device's keys change.
        # A read that raced with a change (generation moved) is not cached.
        self._counts: OrderedDict[tuple[str, str], tuple[dict[str, int], list[str]]] = OrderedDict()
        self._generation = 0
        #: Told (user, device) whenever a device's key counts change (other processes).
        self.on_counts_changed: Callable[[str, str], None] | None = None
        #: Asks another server: (``"query"`` or ``"claim"``, server, request body) -> answer.
        #: None while federation is off: remote users are then reported in ``failures``.
        self.remote: Callable[[str, str, JsonDict], Awaitable[Any]] | None = None

    def _forget_counts(self, user_id: str, device_id: str) -> None:
        self.forget_counts((user_id, device_id))
        if self.on_counts_changed is not None:
            self.on_counts_changed(user_id, device_id)

    def forget_counts(self, key: tuple[str, str] | None) -> None:
        """Drop a (user, device)'s cached key counts, or every one (another process wrote)."""
        self._generation += 1
        if key is None:
            self._counts.clear()
        else:
            self._counts.pop(key, None)

    # ----------------------------------------------------------------- upload

    async def upload(self, user_id: str, device_id: str, body: JsonDict) -> dict[str, int]:
        """POST /keys/upload for one device; returns its one-time key counts."""
        device_keys = body.get("device_keys")
        stored = await self._keys.get_device_keys(user_id, device_id)
        device_key: bytes | None = None
        new_device_keys = False
        if device_keys is not None:
            device_key = check_device_keys(device_keys, user_id, device_id)
            cleaned = {k: v for k, v in device_keys.items() if k != "unsigned"}
            if stored is not None and _identity(stored) != _identity(cleaned):
                raise invalid_param("This device already has different keys")
            new_device_keys = stored is None or stored != cleaned
        elif stored is not None:
            device_key = ed25519_key(stored.get("keys", {}).get(f"ed25519:{device_id}"))
        one_time = _key_map(body, "one_time_keys")
        fallback = _key_map(body, "fallback_keys")
        if len(one_time) > MAX_KEYS_PER_UPLOAD:
            raise invalid_param(f"At most {MAX_KEYS_PER_UPLOAD} one-time keys per upload")
        otks = [
            (*check_signed_key(fid, key, user_id, device_id, device_key), _canonical(key))
            for fid, key in one_time.items()
        ]
        fallbacks: dict[str, tuple[str, str]] = {}
        for fid, key in fallback.items():
            algorithm, key_id = check_signed_key(fid, key, user_id, device_id, device_key)
            fallbacks[algorithm] = (key_id, _canonical(key))
        async with self._db.transaction() as txn:
            if new_device_keys:
                # Decided inside the transaction: a concurrent upload may have won.
                now = await self._keys.insert_device_keys(txn, user_id, device_id, cleaned)
                if now is not None:
                    if _identity(now) != _identity(cleaned):
                        raise invalid_param("This device already has different keys")
                    await self._keys.set_device_keys(txn, user_id, device_id, cleaned)
            existing = await self._keys.existing_one_time_keys(
                txn, user_id, device_id, [(alg, kid) for alg, kid, _raw in otks]
            )
            fresh = []
            for algorithm, key_id, raw in otks:
                known = existing.get((algorithm, key_id))
                if known is None:
                    fresh.append((algorithm, key_id, raw))
                elif _canonical_of(known) != raw:
                    raise invalid_param(f"One-time key {algorithm}:{key_id} already exists")
            await self._keys.add_one_time_keys(txn, user_id, device_id, fresh)
            for algorithm, (key_id, raw) in fallbacks.items():
                await self._keys.set_fallback_key(txn, user_id, device_id, algorithm, key_id, raw)
        self._forget_counts(user_id, device_id)
        if new_device_keys:
            await self._device_lists.mark_changed([user_id])
        return await self.one_time_key_counts(user_id, device_id)

    async def one_time_key_counts(self, user_id: str, device_id: str) -> dict[str, int]:
        counts = await self._keys.count_one_time_keys(user_id, device_id)
        counts.setdefault(DEFAULT_OTK_ALGORITHM, 0)
        return counts

    # ------------------------------------------------------------------ query

    async def query(self, requester: str, wanted: Any) -> JsonDict:
        """POST /keys/query: device and cross-signing keys, signatures merged in."""
        if not isinstance(wanted, dict):
            raise bad_json("'device_keys' must be an object")
        local: dict[str, list[str]] = {}
        remote: dict[str, dict[str, list[str]]] = {}
        failures: JsonDict = {}
        for user_id, devices in wanted.items():
            if not isinstance(devices, list) or not all(isinstance(d, str) for d in devices):
                raise bad_json("'device_keys' must map user IDs to lists of device IDs")
            if not is_valid_user_id(user_id):
                raise invalid_param(f"Invalid user ID {user_id!r}")
            server = user_id.split(":", 1)[1]
            if server != self._server_name:
                remote.setdefault(server, {})[user_id] = list(devices)
                continue
            local[user_id] = list(devices)
        users = list(local)
        all_keys = await self._keys.device_keys_for_users(users)
        cross = await self._cross.keys_for_users(users)
        signatures = _by_target(await self._cross.signatures_for(users, [requester]))
        device_keys: JsonDict = {}
        for user_id, devices in local.items():
            chosen: JsonDict = {}
            for dev, (keys, name) in all_keys.get(user_id, {}).items():
                if devices and dev not in devices:
                    continue
                if name is not None:
                    keys.setdefault("unsigned", {})["device_display_name"] = name
                _merge(keys, signatures.get((user_id, dev), []))
                chosen[dev] = keys
            device_keys[user_id] = chosen
        result: JsonDict = {"device_keys": device_keys, "failures": failures}
        for key_type, field in (
            ("master", "master_keys"),
            ("self_signing", "self_signing_keys"),
            ("user_signing", "user_signing_keys"),
        ):
            found: JsonDict = {}
            for user_id in users:
                key = cross.get(user_id, {}).get(key_type)
                if key is None or (key_type == "user_signing" and user_id != requester):
                    continue
                (public,) = [v for v in key["keys"].values()]
                _merge(key, signatures.get((user_id, public), []))
                found[user_id] = key
            result[field] = found
        await self._ask_remote("query", remote, {"device_keys": {}}, result, failures)
        return result

    async def _ask_remote(
        self,
        kind: str,
        by_server: dict[str, dict[str, Any]],
        template: JsonDict,
        result: JsonDict,
        failures: JsonDict,
    ) -> None:
        """Ask each remote server for its users' keys at once and merge what each answers.

        A server's answer only counts for its own users; one that fails or is
        not allowed is named in ``failures`` and the others still answer.
        """
        if not by_server:
            return
        if self.remote is None:
            for server in by_server:
                failures[server] = {"status": 503, "message": "Federation is not enabled"}
            return
        asker = self.remote
        servers = sorted(by_server)
        (field,) = template

        async def ask(server: str) -> Any:
            return await asker(kind, server, {field: by_server[server]})

        answers = await asyncio.gather(*(ask(s) for s in servers), return_exceptions=True)
        for server, answer in zip(servers, answers, strict=True):
            if isinstance(answer, BaseException) or not isinstance(answer, dict):
                failures[server] = {"status": 503, "message": f"{server} did not answer: {answer}"}
                continue
            for section, value in answer.items():
                if not isinstance(value, dict) or section not in _REMOTE_SECTIONS:
                    continue
                target = result.setdefault(section, {})
                for user_id, entry in value.items():
                    if isinstance(user_id, str) and user_id.endswith(":" + server):
                        target[user_id] = entry

    # ------------------------------------------------------------------ claim

    async def claim(self, wanted: Any) -> JsonDict:
        """POST /keys/claim: one key per requested device; unknown devices are omitted."""
        if not isinstance(wanted, dict):
            raise bad_json("'one_time_keys' must be an object")
        failures: JsonDict = {}
        claimed: JsonDict = {}
        remote: dict[str, dict[str, Any]] = {}
        requests: list[tuple[str, str, str]] = []
        for user_id, devices in wanted.items():
            if not isinstance(devices, dict) or not all(
                isinstance(a, str) for a in devices.values()
            ):
                raise bad_json("'one_time_keys' must map users to {device: algorithm}")
            server = user_id.split(":", 1)[1] if ":" in user_id else ""
            if not server:
                failures[user_id] = {"status": 400, "message": "Invalid user ID"}
                continue
            if server != self._server_name:
                remote.setdefault(server, {})[user_id] = devices
                continue
            requests.extend((user_id, device_id, alg) for device_id, alg in devices.items())
        for user_id, device_id, _algorithm in requests:
            self._forget_counts(user_id, device_id)
        async with self._db.transaction() as txn:
            for user_id, device_id, algorithm in requests:
                key = await self._keys.claim_one_time_key(txn, user_id, device_id, algorithm)
                if key is None:
                    key = await self._keys.claim_fallback_key(txn, user_id, device_id, algorithm)
                if key is not None:
                    claimed.setdefault(user_id, {}).setdefault(device_id, {})[
                        f"{algorithm}:{key.key_id}"
                    ] = key.key
        for user_id, device_id, _algorithm in requests:
            self._forget_counts(user_id, device_id)
        result: JsonDict = {"one_time_keys": claimed, "failures": failures}
        await self._ask_remote("claim", remote, {"one_time_keys": {}}, result, failures)
        return result

    # ------------------------------------------------------------ sync, hooks

    async def sync_section(self, ctx: SyncContext) -> bool:
        """Counts a device needs to top up its keys (always present: Element relies on it)."""
        key = (ctx.user_id, ctx.device_id)
        cached = self._counts.get(key)
        if cached is None:
            generation = self._generation
            counts, unused = await self._keys.sync_counts(ctx.user_id, ctx.device_id)
            counts.setdefault(DEFAULT_OTK_ALGORITHM, 0)
            cached = (counts, unused)
            if generation == self._generation:
                self._counts[key] = cached
                if len(self._counts) > COUNT_CACHE_SIZE:
                    self._counts.popitem(last=False)
        ctx.response["device_one_time_keys_count"] = dict(cached[0])
        ctx.response["device_unused_fallback_key_types"] = list(cached[1])
        return False

    async def device_created(self, user_id: str, device_id: str) -> None:
        """A new login: others must re-query this user's devices."""
        await self._device_lists.mark_changed([user_id])

    async def devices_deleted(self, user_id: str, device_ids: list[str]) -> None:
        """Logout or device deletion: drop the device's keys and inbox, tell the trackers."""
        async with self._db.transaction() as txn:
            for device_id in device_ids:
                await self._keys.delete_device(txn, user_id, device_id)
                await self._inbox.delete_inbox(txn, user_id, device_id)
        for device_id in device_ids:
            self._forget_counts(user_id, device_id)
        await self._device_lists.mark_changed([user_id])


def _key_map(body: JsonDict, name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_json(f"'{name}' must be an object")
    return value


def _canonical(value: Any) -> str:
    return canonical(value).decode()


def _canonical_of(raw: str) -> str:
    return _canonical(orjson.loads(raw))


def _identity(keys: JsonDict) -> tuple[Any, Any]:
    """What may not change for an existing device: its algorithms and public keys."""
    return (keys.get("keys"), sorted(keys.get("algorithms") or []))


def _by_target(
    signatures: list[StoredSignature],
) -> dict[tuple[str, str], list[StoredSignature]]:
    index: dict[tuple[str, str], list[StoredSignature]] = {}
    for sig in signatures:
        index.setdefault((sig.target_user_id, sig.target_key_id), []).append(sig)
    return index


def _merge(obj: JsonDict, signatures: list[StoredSignature]) -> None:
    """Add stored signatures on this key to ``obj['signatures']``."""
    for sig in signatures:
        by_signer = obj.setdefault("signatures", {}).setdefault(sig.signer_user_id, {})
        by_signer[sig.signer_key_id] = sig.signature
