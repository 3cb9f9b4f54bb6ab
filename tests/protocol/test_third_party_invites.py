"""The signed block of a third-party invite, checked against the invite event's public keys."""

from sceau.protocol.signing import generate_signing_key, sign_json
from sceau.protocol.third_party_invites import verify_third_party_invite

KEY = generate_signing_key(b"\x07" * 32, "0")
OTHER = generate_signing_key(b"\x08" * 32, "0")


def invite_content(key=KEY):
    return {
        "display_name": "j***@p***.fr",
        "public_key": key.verify_key_base64,
        "public_keys": [{"public_key": key.verify_key_base64, "key_validity_url": "https://x/"}],
    }


def signed(mxid="@jean:externes.test", token="tok", key=KEY):
    return sign_json({"mxid": mxid, "token": token}, "identity.test", key)


def test_a_block_signed_by_the_invites_key_verifies():
    assert verify_third_party_invite(signed(), invite_content())


def test_a_key_listed_only_in_public_keys_is_enough():
    content = {"public_keys": [{"public_key": KEY.verify_key_base64}]}
    assert verify_third_party_invite(signed(), content)


def test_another_key_a_tampered_block_or_garbage_fail():
    assert not verify_third_party_invite(signed(key=OTHER), invite_content())
    tampered = {**signed(), "mxid": "@mallory:externes.test"}
    assert not verify_third_party_invite(tampered, invite_content())
    assert not verify_third_party_invite({"mxid": "x", "token": "t"}, invite_content())
    garbage = {**signed(), "signatures": {"identity.test": {"ed25519:0": "!!notbase64"}}}
    assert not verify_third_party_invite(garbage, invite_content())
    assert not verify_third_party_invite(signed(), {"public_key": "short"})
