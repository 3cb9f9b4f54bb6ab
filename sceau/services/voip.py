"""TURN credentials for voice and video calls (``/voip/turnServer``).

Clients fetch them when they start and again before ``ttl`` runs out. With a
shared secret each user gets short-lived credentials of their own, which
coturn checks without asking us (see :mod:`sceau.protocol.turn`). Guests get
none, as Synapse does with ``turn_allow_guests: false``: a relay is a
bandwidth cost the server should only pay for its own agents.
"""

from typing import Any

from sceau.clock import Clock
from sceau.config import VoipConfig
from sceau.errors import guest_access_forbidden
from sceau.protocol.turn import turn_rest_credentials
from sceau.services.auth import Requester
from sceau.services.ratelimit import RateLimiter


class VoipService:
    def __init__(self, config: VoipConfig, clock: Clock, ratelimiter: RateLimiter) -> None:
        self._config = config
        self._clock = clock
        self._ratelimiter = ratelimiter

    def turn_server(self, requester: Requester) -> dict[str, Any]:
        """The body of GET /voip/turnServer: ``{}`` when no TURN server is configured."""
        if requester.is_guest:
            raise guest_access_forbidden()
        self._ratelimiter.check("turn", requester.user_id)
        config = self._config
        if not config.turn_uris:
            return {}
        if config.turn_shared_secret:
            username, password = turn_rest_credentials(
                config.turn_shared_secret,
                requester.user_id,
                self._clock.time_ms(),
                config.turn_user_lifetime,
            )
        elif config.turn_username is not None and config.turn_password is not None:
            username, password = config.turn_username, config.turn_password
        else:
            return {}
        return {
            "username": username,
            "password": password,
            "ttl": config.turn_user_lifetime // 1000,
            "uris": list(config.turn_uris),
        }
