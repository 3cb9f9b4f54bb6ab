"""Which ministry's server owns an email address: pure functions over the config's mapping.

Each state email domain belongs to exactly one homeserver, so an agent
registers on their own ministry's server and nowhere else.
"""

import re

#: A deliberately plain address shape: one ``@``, a dotted domain, no spaces or quotes.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_ADDRESS_LENGTH = 254


def normalise_email(address: str) -> str | None:
    """The address as stored (trimmed, lower-cased), or None if it is not a plain address."""
    candidate = address.strip().lower()
    if len(candidate) > MAX_ADDRESS_LENGTH or not _ADDRESS.match(candidate):
        return None
    local, _, domain = candidate.partition("@")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    if any(label.startswith("-") or label.endswith("-") for label in domain.split(".")):
        return None
    return candidate


def email_domain(address: str) -> str:
    """The domain of an already normalised address."""
    return address.rpartition("@")[2]


def owning_server(address: str, domains: dict[str, str]) -> str | None:
    """The server name that owns a normalised address's domain, None if no server does.

    Domains match exactly and case-insensitively (the mapping's keys are lower-cased).
    """
    return domains.get(email_domain(address))
