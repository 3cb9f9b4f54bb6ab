"""Which homeserver an email address belongs to: the state's address book of servers.

Every server of the federation carries the same ``policy.email_routing`` config,
so each gives the same answer for the same address: exact addresses first, then
domain patterns in order, then ``registration.email_domains`` (the older,
exact-domain form), and finally the external partners' server, which admits
people only by invitation.
"""

from dataclasses import dataclass
from fnmatch import fnmatchcase

from sceau.config import Config
from sceau.services.email_policy import email_domain


@dataclass(frozen=True)
class EmailHome:
    """Where an address belongs, and whether it may register there uninvited."""

    server: str
    requires_invite: bool


class EmailRouter:
    """Answers "which server is this agent's?" from the config alone (no I/O)."""

    def __init__(self, config: Config) -> None:
        routing = config.policy.email_routing
        self._entries = routing.entries
        self._patterns = routing.patterns
        self._domains = config.registration.email_domains
        self._external = routing.external_server

    def home_of(self, address: str) -> EmailHome | None:
        """The home of a normalised address, or None when no server takes it."""
        entry = self._entries.get(address)
        if entry is not None:
            return EmailHome(entry.server, entry.requires_invite)
        domain = email_domain(address)
        for pattern in self._patterns:
            if fnmatchcase(domain, pattern.domain):
                return EmailHome(pattern.server, pattern.requires_invite)
        server = self._domains.get(domain)
        if server is not None:
            return EmailHome(server, False)
        if self._external is not None:
            return EmailHome(self._external, True)
        return None


def external_servers(config: Config) -> frozenset[str]:
    """The servers whose users are external partners (``external_server`` and ``external_servers``)."""
    policy = config.policy
    servers = set(policy.external_servers)
    if policy.email_routing.external_server:
        servers.add(policy.email_routing.external_server)
    return frozenset(servers)
