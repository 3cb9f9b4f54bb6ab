"""Who this server federates with: nobody unless enabled, then only the allowlist."""

from sceau.config import FederationConfig
from sceau.errors import MatrixError


class FederationPolicy:
    def __init__(self, server_name: str, config: FederationConfig) -> None:
        self.server_name = server_name
        self.enabled = config.enabled
        self._allow = frozenset(config.allow) - {server_name}

    def is_allowed(self, server: str) -> bool:
        """True only for servers on ``federation.allow`` while federation is enabled.

        Names are compared exactly, port included, as other servers do.
        """
        return self.enabled and server in self._allow

    def check(self, server: str) -> None:
        """Refuse, naming the server, anything involving one off the allowlist."""
        if server == self.server_name:
            return
        if not self.enabled:
            raise MatrixError(
                403, "M_FORBIDDEN", f"Federation is disabled on this server: {server} is remote"
            )
        if server not in self._allow:
            raise MatrixError(
                403,
                "M_FORBIDDEN",
                f"Federation denied with {server}: it is not in this server's federation.allow",
            )

    @property
    def allowed_servers(self) -> frozenset[str]:
        return self._allow if self.enabled else frozenset()
