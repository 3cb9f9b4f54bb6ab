"""E2EE key traffic: device and one-time key uploads, then claims and queries.

Keys are random but well formed, and signed with a real ed25519 key per device
so that a server which checks self-signatures accepts them too.
"""

from __future__ import annotations

import base64
import os
import time
from typing import Any

import orjson
from nacl.signing import SigningKey

from bench.client import Session
from bench.model import Context, Figure, Outcome, gather_limited, need_pool

FALLBACK_ID = "FALLBACK"
ALGORITHMS = ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _signed(obj: dict[str, Any], key: SigningKey, user: str, device: str) -> dict[str, Any]:
    canonical = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    signature = _b64(key.sign(canonical).signature)
    return {**obj, "signatures": {user: {f"ed25519:{device}": signature}}}


def key_upload_body(session: Session, one_time_keys: int) -> dict[str, Any]:
    """A /keys/upload body with device keys and signed one-time keys."""
    key = SigningKey.generate()
    dev, user = session.device_id, session.user_id
    device_keys = _signed(
        {
            "user_id": user,
            "device_id": dev,
            "algorithms": ALGORITHMS,
            "keys": {
                f"curve25519:{dev}": _b64(os.urandom(32)),
                f"ed25519:{dev}": _b64(bytes(key.verify_key)),
            },
        },
        key,
        user,
        dev,
    )
    otks = {
        f"signed_curve25519:AAAA{n:04d}": _signed({"key": _b64(os.urandom(32))}, key, user, dev)
        for n in range(one_time_keys)
    }
    # Clients upload a fallback key too; a server may hand it out when a race
    # between concurrent claims leaves no one-time key for a claimer.
    fallback = _signed({"key": _b64(os.urandom(32)), "fallback": True}, key, user, dev)
    return {
        "device_keys": device_keys,
        "one_time_keys": otks,
        "fallback_keys": {f"signed_curve25519:{FALLBACK_ID}": fallback},
    }


async def e2ee_keys(ctx: Context, out: Outcome) -> None:
    """Every pool device uploads keys; each then claims and queries a batch of peers."""
    scale = ctx.scale
    need_pool(ctx, 2)
    devices = ctx.pool
    batch = min(scale.key_batch, len(devices) - 1, scale.one_time_keys)
    upload_lat: list[float] = []
    claim_lat: list[float] = []
    query_lat: list[float] = []
    missing = 0
    notes: list[str] = []
    fallbacks = [0]

    async def upload(s: Session) -> None:
        seconds, body = await ctx.client.timed(
            "POST",
            "/_matrix/client/v3/keys/upload",
            token=s.access_token,
            body=key_upload_body(s, scale.one_time_keys),
        )
        upload_lat.append(seconds)
        if body.get("one_time_key_counts", {}).get("signed_curve25519") != scale.one_time_keys:
            raise RuntimeError(f"one_time_key_counts wrong: {body!r}"[:300])

    def peers(i: int) -> list[Session]:
        return [devices[(i + k) % len(devices)] for k in range(1, batch + 1)]

    async def claim(i: int) -> None:
        nonlocal missing
        wanted = {p.user_id: {p.device_id: "signed_curve25519"} for p in peers(i)}
        seconds, body = await ctx.client.timed(
            "POST",
            "/_matrix/client/v3/keys/claim",
            token=devices[i].access_token,
            body={"one_time_keys": wanted},
        )
        claim_lat.append(seconds)
        got = body.get("one_time_keys", {})
        lost = [p.device_id for p in peers(i) if not got.get(p.user_id, {}).get(p.device_id)]
        fallbacks[0] += sum(
            1
            for keys in got.values()
            for device in keys.values()
            for key_id in device
            if key_id.endswith(FALLBACK_ID)
        )
        if lost:
            missing += len(lost)
            notes.append(f"claim by device {i} got no key for {lost}: {body!r}"[:300])

    async def query(i: int) -> None:
        nonlocal missing
        wanted = {p.user_id: [] for p in peers(i)}
        seconds, body = await ctx.client.timed(
            "POST",
            "/_matrix/client/v3/keys/query",
            token=devices[i].access_token,
            body={"device_keys": wanted},
        )
        query_lat.append(seconds)
        got = body.get("device_keys", {})
        lost = [p.device_id for p in peers(i) if p.device_id not in got.get(p.user_id, {})]
        if lost:
            missing += len(lost)
            notes.append(f"query by device {i} lacks {lost}: {body!r}"[:300])

    limit = scale.concurrency
    start = time.perf_counter()
    await gather_limited(limit, [lambda s=s: upload(s) for s in devices])
    upload_wall = time.perf_counter() - start
    start = time.perf_counter()
    await gather_limited(limit, [lambda i=i: claim(i) for i in range(len(devices))])
    claim_wall = time.perf_counter() - start
    start = time.perf_counter()
    await gather_limited(limit, [lambda i=i: query(i) for i in range(len(devices))])
    query_wall = time.perf_counter() - start
    if missing:
        ctx.tally.errors += missing
        ctx.tally.samples.append(f"e2ee: {missing} claimed or queried keys missing")
        ctx.tally.samples.extend(notes[:3])
    out.latency_figures("keys/upload", upload_lat)
    out.rate("uploads/s", len(devices), upload_wall, "req/s")
    out.latency_figures("keys/claim", claim_lat)
    out.rate("claims/s", len(devices), claim_wall, "req/s")
    out.figures["claims served by fallback key"] = Figure(fallbacks[0], "keys")
    out.latency_figures("keys/query", query_lat)
    out.rate("queries/s", len(devices), query_wall, "req/s")
