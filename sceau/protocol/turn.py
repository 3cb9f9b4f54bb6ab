"""TURN REST credentials (draft-uberti-behave-turn-rest): shared with coturn's use-auth-secret.

The homeserver and the TURN server share a secret. The username carries its own
expiry (``expiry_ts_seconds:user_id``) and the password is the HMAC-SHA1 of the
username keyed by the secret, in standard padded base64. The TURN server
recomputes the HMAC and refuses a username whose expiry has passed, so nothing
needs to be stored on either side.
"""

import base64
import hashlib
import hmac


def turn_rest_credentials(
    shared_secret: str, user_id: str, now_ms: int, lifetime_ms: int
) -> tuple[str, str]:
    """The ``(username, password)`` valid until ``now_ms + lifetime_ms``."""
    expiry_s = (now_ms + lifetime_ms) // 1000
    username = f"{expiry_s}:{user_id}"
    return username, turn_rest_password(shared_secret, username)


def turn_rest_password(shared_secret: str, username: str) -> str:
    """base64(HMAC-SHA1(secret, username)), padded, as coturn computes it."""
    digest = hmac.new(shared_secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
