"""An agent's Matrix identity derived from their verified email address.

Agents do not choose user IDs or display names: both come from the address the
server validated, so a name in a room always matches a real, checked address.
``jean.dupont@interieur.gouv.fr`` becomes ``@jean.dupont-interieur.gouv.fr``,
shown as "Jean Dupont [Interieur]".
"""

import re

from sceau.services.email_policy import email_domain

#: Characters a registered localpart may hold (the spec's historical set, lower case).
_NOT_LOCALPART = re.compile(r"[^a-z0-9._=/+-]")
_SEPARATORS = re.compile(r"[._]+")


def localpart_from_email(address: str) -> str:
    """The localpart for a normalised address: lower case, ``@`` as ``-``, the rest dropped."""
    return _NOT_LOCALPART.sub("", address.lower().replace("@", "-"))


def numbered_localparts(base: str, limit: int = 1000) -> list[str]:
    """``base``, then ``base2``, ``base3``...: the candidates tried when IDs clash."""
    return [base] + [f"{base}{n}" for n in range(2, limit + 1)]


def _capitalise(word: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))


def organisation_of(address: str, organisations: dict[str, str]) -> str:
    """The organisation shown for an address: configured per domain, else its first label."""
    domain = email_domain(address)
    named = organisations.get(domain)
    if named:
        return named
    return _capitalise(domain.split(".")[0])


def display_name_from_email(address: str, organisations: dict[str, str]) -> str:
    """ "First Last [Org]" from ``first.last@org.example``; separators in the name become spaces."""
    local = address.partition("@")[0].split("+")[0]
    words = [w for w in _SEPARATORS.split(local) if w]
    name = " ".join(_capitalise(w) for w in words) or local
    return f"{name} [{organisation_of(address, organisations)}]"
