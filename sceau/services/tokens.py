"""Opaque tokens for /sync and /messages.

A position token names the boundary *after* a stream position: everything at
or below it is "before", everything above it "after". Sync tokens
(``s<pos>_<typing>``) add the in-memory typing serial; pagination tokens are
``t<pos>``. Either kind is accepted wherever a position is wanted, so a sync
``prev_batch`` works with /messages. Positions come from the database, so
tokens stay valid across a restart.
"""

from dataclasses import dataclass

from sceau.errors import invalid_param


@dataclass(frozen=True)
class SyncToken:
    stream: int
    typing: int = 0

    def encode(self) -> str:
        return f"s{self.stream}_{self.typing}"


MAX_POSITION = 2**62


def parse_sync_token(token: str) -> SyncToken:
    try:
        if token.startswith("s"):
            stream, _, typing = token[1:].partition("_")
            parsed = SyncToken(int(stream), int(typing or 0))
        elif token.startswith("t"):
            parsed = SyncToken(int(token[1:]))
        else:
            parsed = None
    except ValueError:
        parsed = None
    # Pagination tokens may point below 0, into history fetched from other servers.
    lowest = -MAX_POSITION if token.startswith("t") else 0
    if parsed is None or not (
        lowest < parsed.stream < MAX_POSITION and 0 <= parsed.typing < MAX_POSITION
    ):
        raise invalid_param("Invalid pagination or sync token")
    return parsed


def parse_position(token: str) -> int:
    return parse_sync_token(token).stream


def position_token(position: int) -> str:
    return f"t{position}"
