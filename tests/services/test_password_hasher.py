"""The default argon2id parameters: OWASP's 7 MiB set, and older hashes still verify."""

from argon2 import PasswordHasher

from sceau.services.auth import PasswordService, default_password_hasher


def test_default_hash_is_argon2id_with_7_mib_5_passes_1_lane() -> None:
    encoded = default_password_hasher().hash("correct horse")
    assert encoded.startswith("$argon2id$v=19$m=7168,t=5,p=1$")


async def test_hash_made_with_the_former_19_mib_parameters_still_verifies() -> None:
    former = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1).hash("s3cret!")
    passwords = PasswordService(concurrency=1)
    assert await passwords.verify(former, "s3cret!")
    assert not await passwords.verify(former, "wrong")
