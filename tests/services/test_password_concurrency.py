"""A burst of registrations queues on the password-hash slots instead of hashing all at once.

The hasher is injected and blocks until the test opens its gate, so the count of
hashes in flight is exact: no timing is involved.
"""

import asyncio
import threading

from sceau.config import parse_config
from sceau.services.accounts import AccountHooks, AccountService, RegistrationRequest
from sceau.services.auth import AuthService, PasswordService, UiaService
from sceau.services.ratelimit import RateLimiter
from tests.conftest import FAST_HASHER

SLOTS = 2
BURST = 10


class GatedHasher:
    """Counts the hashes running at once; each waits for the gate before finishing."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.in_flight = 0
        self.most_in_flight = 0
        self.started = 0
        self.gate = threading.Semaphore(0)

    def hash(self, password: str) -> str:
        with self._lock:
            self.in_flight += 1
            self.started += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self._lock.notify_all()
        self.gate.acquire()
        with self._lock:
            self.in_flight -= 1
        return FAST_HASHER.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        return FAST_HASHER.verify(password_hash, password)

    def wait_started(self, count: int) -> None:
        """Block until ``count`` hashes have begun (the timeout only ends a failed run)."""
        with self._lock:
            assert self._lock.wait_for(lambda: self.started >= count, timeout=60)


def account_service(services, tmp_path, passwords: PasswordService) -> AccountService:
    config = parse_config(
        {"server_name": "test.local", "registration": {"mode": "open"}}, str(tmp_path)
    )
    store = services.stores.accounts
    return AccountService(
        config=config,
        clock=services.clock,
        db=services.stores.db,
        accounts=store,
        auth=AuthService(store),
        passwords=passwords,
        uia=UiaService(services.clock, passwords, store),
        ratelimiter=RateLimiter(config.rate_limits, services.clock),
        hooks=AccountHooks(),
    )


async def test_registration_burst_never_runs_more_hashes_than_the_slots(services, tmp_path):
    hasher = GatedHasher()
    accounts = account_service(
        services,
        tmp_path,
        PasswordService(hasher, concurrency=SLOTS),  # type: ignore[arg-type]
    )
    burst = [
        asyncio.create_task(
            accounts.register(
                RegistrationRequest(
                    username=f"burst{i}", password="pw", auth={"type": "m.login.dummy"}
                ),
                "user",
                "10.0.0.1",
            )
        )
        for i in range(BURST)
    ]
    try:
        # Every slot fills; the other registrations are parked on the semaphore.
        await asyncio.to_thread(hasher.wait_started, SLOTS)
        for _ in range(20):
            await asyncio.sleep(0)
        assert hasher.started == SLOTS
        # Let them through one at a time: each finished hash admits exactly one more.
        for done in range(1, BURST + 1):
            hasher.gate.release()
            await asyncio.to_thread(hasher.wait_started, min(BURST, SLOTS + done))
    finally:
        hasher.gate.release(BURST)  # never leave a worker thread blocked
    sessions = await asyncio.gather(*burst)
    assert len({s.user_id for s in sessions}) == BURST
    assert hasher.most_in_flight == SLOTS


def test_hash_concurrency_comes_from_the_config(tmp_path):
    config = parse_config(
        {"server_name": "test.local", "limits": {"password_hash_concurrency": 3}}, str(tmp_path)
    )
    assert config.limits.password_hash_concurrency == 3
    default = parse_config({"server_name": "test.local"}, str(tmp_path))
    assert default.limits.password_hash_concurrency is None
