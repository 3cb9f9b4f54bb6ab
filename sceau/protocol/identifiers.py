"""Matrix identifiers: server names, user IDs, room IDs, aliases, event IDs.

Grammar from the spec appendix "Identifier Grammar". Parsing is lenient
where the spec says servers must accept historical forms (user IDs seen
in events), and strict where Sceau creates identifiers (registration).
"""

import ipaddress
import re

from sceau.protocol.room_versions import RoomVersion

MAX_IDENTIFIER_BYTES = 255
HASH_ID_LENGTH = 43  # unpadded Base64 of a 32-byte SHA-256 digest

_STRICT_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+")
_IPV4 = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_DNS_NAME = re.compile(r"[A-Za-z0-9\-.]{1,255}")
_PORT = re.compile(r"[0-9]{1,5}")
_URLSAFE_HASH = re.compile(rf"[A-Za-z0-9\-_]{{{HASH_ID_LENGTH}}}")
_STANDARD_HASH = re.compile(rf"[A-Za-z0-9+/]{{{HASH_ID_LENGTH}}}")
_SURROGATE_OR_NUL = re.compile(r"[\x00\ud800-\udfff]")


class InvalidIdentifier(ValueError):
    """The string is not a valid identifier of the expected kind."""


# --- server names ------------------------------------------------------------


def parse_server_name(server_name: str) -> tuple[str, int | None]:
    """Split a server name into ``(host, port)``, validating the spec grammar.

    IPv6 hosts keep their brackets so the result can be joined back.
    """
    host, port = _split_port(server_name)
    if host.startswith("["):
        if not (host.endswith("]") and _is_ipv6_literal(host[1:-1])):
            raise InvalidIdentifier(f"invalid IPv6 literal in server name {server_name!r}")
    elif not _is_ipv4_or_dns_name(host):
        raise InvalidIdentifier(f"invalid host in server name {server_name!r}")
    return host, port


def is_valid_server_name(server_name: str) -> bool:
    """Tell whether ``server_name`` matches the spec's server name grammar."""
    try:
        parse_server_name(server_name)
    except InvalidIdentifier:
        return False
    return True


def _split_port(server_name: str) -> tuple[str, int | None]:
    bracket = server_name.rfind("]")
    colon = server_name.rfind(":")
    if colon == -1 or colon < bracket:
        return server_name, None
    host, port_text = server_name[:colon], server_name[colon + 1 :]
    if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
        raise InvalidIdentifier(f"invalid port in server name {server_name!r}")
    return host, int(port_text)


def _is_ipv6_literal(text: str) -> bool:
    if not _IPV6_CHARS.fullmatch(text):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _is_ipv4_or_dns_name(host: str) -> bool:
    quad = _IPV4.fullmatch(host)
    if quad:
        return all(int(part) <= 255 for part in quad.groups())
    return bool(_DNS_NAME.fullmatch(host))


# --- sigil:localpart:domain identifiers --------------------------------------


def _check_length(identifier: str) -> None:
    try:
        size = len(identifier.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidIdentifier("identifier contains lone surrogates") from exc
    if size > MAX_IDENTIFIER_BYTES:
        raise InvalidIdentifier(f"identifier longer than {MAX_IDENTIFIER_BYTES} bytes")


def _split_sigil_id(identifier: str, sigil: str, kind: str) -> tuple[str, str]:
    if not isinstance(identifier, str) or not identifier.startswith(sigil):
        raise InvalidIdentifier(f"{kind} must start with {sigil!r}")
    _check_length(identifier)
    localpart, sep, server_name = identifier[1:].partition(":")
    if not sep:
        raise InvalidIdentifier(f"{kind} {identifier!r} has no server name")
    if _SURROGATE_OR_NUL.search(localpart):
        raise InvalidIdentifier(f"{kind} {identifier!r} contains NUL or surrogates")
    if not is_valid_server_name(server_name):
        raise InvalidIdentifier(f"{kind} {identifier!r} has an invalid server name")
    return localpart, server_name


def parse_user_id(user_id: str) -> tuple[str, str]:
    """Split a user ID into ``(localpart, server_name)``.

    Accepts the historical localpart grammar (anything but ``:`` and NUL,
    even empty), which servers must accept in events; use
    :func:`is_valid_localpart_for_registration` when creating users.
    """
    return _split_sigil_id(user_id, "@", "user ID")


def is_valid_user_id(user_id: str) -> bool:
    """Tell whether ``user_id`` parses under the (historical) user ID grammar."""
    try:
        parse_user_id(user_id)
    except InvalidIdentifier:
        return False
    return True


def is_valid_localpart_for_registration(localpart: str) -> bool:
    """Tell whether a new account may use ``localpart`` (``a-z0-9._=-/+``)."""
    return bool(_STRICT_LOCALPART.fullmatch(localpart))


def is_compliant_user_id(user_id: str) -> bool:
    """Tell whether ``user_id`` follows the current (non-historical) grammar."""
    try:
        localpart, _ = parse_user_id(user_id)
    except InvalidIdentifier:
        return False
    return is_valid_localpart_for_registration(localpart)


def make_user_id(localpart: str, server_name: str) -> str:
    """Build a user ID for a new account, checking localpart, server and length."""
    if not is_valid_localpart_for_registration(localpart):
        raise InvalidIdentifier(f"invalid localpart {localpart!r}")
    user_id = f"@{localpart}:{server_name}"
    parse_user_id(user_id)
    return user_id


def parse_room_alias(alias: str) -> tuple[str, str]:
    """Split a room alias into ``(localpart, server_name)``."""
    return _split_sigil_id(alias, "#", "room alias")


def is_valid_room_alias(alias: str) -> bool:
    """Tell whether ``alias`` is a syntactically valid room alias."""
    try:
        parse_room_alias(alias)
    except InvalidIdentifier:
        return False
    return True


# --- room IDs and event IDs --------------------------------------------------


def _is_hash_id(identifier: str, sigil: str) -> bool:
    return identifier.startswith(sigil) and bool(_URLSAFE_HASH.fullmatch(identifier[1:]))


def parse_room_id(room_id: str) -> tuple[str, str | None]:
    """Split a room ID into ``(opaque_id, server_name)``.

    The server name is None for hash-based room IDs (room version 12+),
    which are ``!`` followed by 43 URL-safe Base64 characters.
    """
    if isinstance(room_id, str) and _is_hash_id(room_id, "!"):
        return room_id[1:], None
    return _split_sigil_id(room_id, "!", "room ID")


def is_valid_room_id(room_id: str, room_version: RoomVersion | None = None) -> bool:
    """Tell whether ``room_id`` is valid, in the form ``room_version`` uses if given."""
    try:
        _, server_name = parse_room_id(room_id)
    except InvalidIdentifier:
        return False
    if room_version is None:
        return True
    return (server_name is None) == room_version.room_id_from_create_event


def is_valid_event_id(event_id: str) -> bool:
    """Tell whether ``event_id`` is a hash-based event ID (room versions 4+)."""
    return isinstance(event_id, str) and _is_hash_id(event_id, "$")


def is_valid_legacy_event_id(event_id: str) -> bool:
    """Tell whether ``event_id`` is any event ID, old ``$x:domain`` form included.

    Useful for references into older rooms (e.g. a room's predecessor).
    """
    if is_valid_event_id(event_id):
        return True
    try:
        _split_sigil_id(event_id, "$", "event ID")
    except InvalidIdentifier:
        return False
    return True


def is_valid_event_id_any_version(event_id: str) -> bool:
    """Tell whether ``event_id`` is an event ID of some room version, 1 to 12.

    ``$local:server`` (v1, v2), ``$`` and 43 standard Base64 characters (v3,
    which may hold ``/`` and ``+``) or URL-safe ones (v4+). For client input
    that names an event in a room of any version (receipts, read markers).
    """
    if not isinstance(event_id, str):
        return False
    if _is_hash_id(event_id, "$") or (
        event_id.startswith("$") and bool(_STANDARD_HASH.fullmatch(event_id[1:]))
    ):
        return True
    return is_valid_legacy_event_id(event_id)
