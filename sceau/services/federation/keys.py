"""Signing keys across servers: ours published, theirs fetched, cached and pinned.

A remote key is looked up in order: pinned in the config (then never
fetched), the stored cache while its ``valid_until_ts`` has not passed, and
only then the network: the server's own ``/_matrix/key/v2/server``, or the
configured notaries (``trusted_key_servers``, empty by default).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from sceau.clock import Clock
from sceau.config import FederationConfig
from sceau.protocol.base64 import decode_base64, encode_base64
from sceau.protocol.federation import VerifyKey, check_server_keys, server_keys
from sceau.protocol.signing import SigningKey, sign_json, verify_json_signature
from sceau.storage.federation import ServerKeyStore, StoredServerKey

logger = logging.getLogger(__name__)

#: How long after fetching a key it may be trusted, whatever it says (7 days).
MAX_KEY_VALIDITY_MS = 7 * 24 * 3600 * 1000
#: After a failed fetch, a server's keys are not asked for again this soon.
_REFETCH_AFTER_FAILURE_MS = 10_000

KeyFetch = Callable[[str, str], Awaitable[Any]]
KeyQuery = Callable[[str, str, Any], Awaitable[Any]]


class KeyUnavailable(Exception):
    """No usable key: unknown ID, expired, pinned otherwise, or the fetch failed."""


class KeyRing:
    def __init__(
        self,
        *,
        server_name: str,
        signing_key: SigningKey,
        clock: Clock,
        store: ServerKeyStore,
        config: FederationConfig,
    ) -> None:
        self._server_name = server_name
        self._key = signing_key
        self._clock = clock
        self._store = store
        self._config = config
        self._pinned = {
            server: {key_id: decode_base64(public) for key_id, public in keys.items()}
            for server, keys in config.pinned_keys.items()
        }
        self._locks: dict[str, asyncio.Lock] = {}
        self._failed_at: dict[str, int] = {}
        #: Set by the composition root: GET without signature, POST signed (notaries).
        self.fetch: KeyFetch | None = None
        self.query: KeyQuery | None = None

    # ------------------------------------------------------------------ ours

    def own_keys(self) -> dict[str, Any]:
        """GET /_matrix/key/v2/server: our key, self-signed, valid for key_validity_ms."""
        valid_until = self._clock.time_ms() + self._config.key_validity_ms
        return server_keys(self._server_name, self._key, valid_until)

    # ---------------------------------------------------------------- theirs

    async def verify_key(self, server: str, key_id: str, valid_at_ms: int | None = None) -> bytes:
        """The public key ``server`` signs with under ``key_id``, usable at ``valid_at_ms``."""
        at = self._clock.time_ms() if valid_at_ms is None else valid_at_ms
        if server == self._server_name:
            if key_id == self._key.key_id:
                return self._key.verify_key_bytes
            raise KeyUnavailable(f"{key_id} is not a key of this server")
        if server in self._pinned:
            pinned = self._pinned[server].get(key_id)
            if pinned is None:
                raise KeyUnavailable(f"{key_id} is not among the pinned keys of {server}")
            return pinned
        cached = await self._store.get(server, key_id)
        if cached is not None and _usable_until(cached) >= at:
            return decode_base64(cached.verify_key)
        lock = self._locks.setdefault(server, asyncio.Lock())
        async with lock:
            cached = await self._store.get(server, key_id)
            if cached is None or _usable_until(cached) < at:
                await self._refresh(server, key_id, at)
                cached = await self._store.get(server, key_id)
        if len(self._locks) > 1024:
            self._locks.clear()
        if cached is None:
            raise KeyUnavailable(f"{server} has no key {key_id}")
        if _usable_until(cached) < at:
            raise KeyUnavailable(f"key {key_id} of {server} expired at {_usable_until(cached)}")
        return decode_base64(cached.verify_key)

    async def _refresh(self, server: str, key_id: str | None = None, valid_at: int = 0) -> None:
        now = self._clock.time_ms()
        if (
            now - self._failed_at.get(server, -_REFETCH_AFTER_FAILURE_MS)
            < _REFETCH_AFTER_FAILURE_MS
        ):
            return
        try:
            notaries = self._config.trusted_key_servers
            if notaries and server not in notaries:
                responses = await self._from_notaries(server, key_id, valid_at)
            else:
                responses = [await self._direct(server)]
            stored = [k for response in responses for k in self._to_store(server, response)]
        except Exception as exc:  # any bad answer is a failed fetch, never an error upward
            logger.warning("fetching the keys of %s failed: %s", server, exc)
            self._failed_at[server] = now
            if len(self._failed_at) > 4096:
                self._failed_at.clear()
            return
        self._failed_at.pop(server, None)
        await self._store.put_many(stored)

    async def _direct(self, server: str) -> Any:
        if self.fetch is None:
            raise KeyUnavailable("no key fetcher")
        return await self.fetch(server, "/_matrix/key/v2/server")

    async def _from_notaries(self, server: str, key_id: str | None, valid_at: int) -> list[Any]:
        """The server's keys from the first notary that gives them, signed by that notary.

        A wanted key is asked with its ``minimum_valid_until_ts`` (the spec
        requires it), so a notary holding an older copy fetches it again.
        """
        if self.query is None:
            raise KeyUnavailable("no notary client")
        criteria = {} if key_id is None else {key_id: {"minimum_valid_until_ts": valid_at}}
        for notary in self._config.trusted_key_servers:
            try:
                answer = await self.query(
                    notary, "/_matrix/key/v2/query", {"server_keys": {server: criteria}}
                )
                responses = answer.get("server_keys") if isinstance(answer, dict) else None
                if not isinstance(responses, list):
                    raise ValueError("server_keys is not a list")
                checked = []
                for response in responses:
                    if isinstance(response, dict) and response.get("server_name") == server:
                        await self._check_notary_signature(notary, response)
                        checked.append(response)
                if checked:
                    return checked
            except Exception as exc:
                logger.warning("notary %s did not give the keys of %s: %s", notary, server, exc)
        raise KeyUnavailable(f"no notary gave the keys of {server}")

    async def _check_notary_signature(self, notary: str, response: dict[str, Any]) -> None:
        signatures = response.get("signatures", {}).get(notary, {})
        for key_id in signatures:
            if key_id.startswith("ed25519:"):
                public = await self.verify_key(notary, key_id)
                verify_json_signature(response, notary, key_id, public)
                return
        raise ValueError(f"response not signed by notary {notary}")

    def _to_store(self, server: str, response: Any) -> list[StoredServerKey]:
        keys: list[VerifyKey] = check_server_keys(response, server)
        raw = orjson.dumps(response).decode()
        now = self._clock.time_ms()
        return [
            StoredServerKey(server, k.key_id, encode_base64(k.key), k.valid_until_ts, now, raw)
            for k in keys
        ]

    # ---------------------------------------------------------------- notary

    async def notary_query(self, wanted: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """GET/POST /_matrix/key/v2/query: cached key responses, countersigned by us.

        Keys not in the cache are fetched only when ``federation.notary_fetches``
        is on, and then only from servers on the allowlist.
        """
        found: list[dict[str, Any]] = []
        for server, key_ids in wanted.items():
            if server == self._server_name:
                found.append(self.own_keys())
                continue
            stored = await self._store.for_server(server)
            min_valid = _min_valid(key_ids)
            if self._config.notary_fetches and not any(
                s.valid_until_ts >= max(min_valid, self._clock.time_ms()) for s in stored
            ):
                await self._refresh(server)
                stored = await self._store.for_server(server)
            wanted_ids = {k for k in key_ids if k} or None
            seen: set[str] = set()
            for entry in stored:
                if wanted_ids is not None and entry.key_id not in wanted_ids:
                    continue
                if entry.valid_until_ts < min_valid or entry.key_json in seen:
                    continue
                seen.add(entry.key_json)
                found.append(sign_json(orjson.loads(entry.key_json), self._server_name, self._key))
        return {"server_keys": found}


def _usable_until(key: StoredServerKey) -> int:
    """A key's validity as this server trusts it: at most 7 days after it was fetched.

    The spec (room version 5's signing requirements) caps a published
    ``valid_until_ts`` so that a server cannot make a key valid for years
    with no way to revoke it.
    """
    return min(key.valid_until_ts, key.fetched_ts + MAX_KEY_VALIDITY_MS)


def _min_valid(key_ids: dict[str, Any]) -> int:
    best = 0
    for criteria in key_ids.values():
        if isinstance(criteria, dict):
            value = criteria.get("minimum_valid_until_ts")
            if isinstance(value, int) and not isinstance(value, bool):
                best = max(best, value)
    return best
