"""Questions local clients ask of other servers: profiles, keys, public rooms, aliases.

Each plugs into the local service that answers the client (profile, keys,
directory), so a remote user or room is answered like a local one. A server
off the allowlist is refused with a message naming it; a server that does
not answer gives 502 (or a ``failures`` entry for keys), never a 500.
"""

from typing import Any

from sceau.errors import MatrixError, not_found
from sceau.protocol.types import JsonDict
from sceau.services.federation.client import (
    FederationClient,
    FederationRequestError,
    encode_path,
)
from sceau.services.federation.multipart import MultipartError, parse_media
from sceau.services.federation.outbound import server_of
from sceau.services.federation.policy import FederationPolicy
from sceau.services.remote_media import RemoteFile
from sceau.services.room_directory import DirectoryQuery

PROFILE_FIELDS = ("displayname", "avatar_url")
#: What a Sceau server adds to a federation profile answer for a user who left the directory.
HIDE_PROFILE = "im.vector.hide_profile"


def unreachable(exc: FederationRequestError) -> MatrixError:
    """502 for a server that did not answer usefully; 403 when it refused us.

    A refusal (typically its own allowlist leaving this server out) is passed
    on as such, so the user and the admin see who refused whom.
    """
    if exc.status == 403:
        return MatrixError(403, "M_FORBIDDEN", f"{exc.destination} refused: {exc.message}")
    return MatrixError(502, "M_UNKNOWN", f"{exc.destination} did not answer: {exc.message}")


class RemoteQueries:
    def __init__(self, *, policy: FederationPolicy, client: FederationClient) -> None:
        self._policy = policy
        self._client = client

    async def profile(self, user_id: str) -> dict[str, str] | None:
        """A remote user's profile; None for a local user (answered locally)."""
        server = server_of(user_id)
        if not server or server == self._policy.server_name:
            return None
        self._policy.check(server)
        try:
            answer = await self._client.request(
                "GET", server, "/_matrix/federation/v1/query/profile", query={"user_id": user_id}
            )
        except FederationRequestError as exc:
            if exc.status == 404:
                raise not_found("Profile not found") from None
            raise unreachable(exc) from None
        if not isinstance(answer, dict):
            raise MatrixError(502, "M_UNKNOWN", f"{server} gave a malformed profile")
        return {k: answer[k] for k in PROFILE_FIELDS if isinstance(answer.get(k), str)}

    async def hides_profile(self, user_id: str) -> bool:
        """Whether a remote user's server says they left the user directory.

        A Sceau server marks its answer with ``im.vector.hide_profile``; a user
        their server no longer knows (404) is not to be found either. Any
        other failure says nothing, and the user stays findable.
        """
        server = server_of(user_id)
        if not server or not self._policy.is_allowed(server):
            return False
        try:
            answer = await self._client.request(
                "GET", server, "/_matrix/federation/v1/query/profile", query={"user_id": user_id}
            )
        except FederationRequestError as exc:
            return exc.status == 404
        return isinstance(answer, dict) and answer.get(HIDE_PROFILE) is True

    async def keys(self, kind: str, server: str, body: JsonDict) -> Any:
        """POST /user/keys/query or /user/keys/claim on ``server`` (raises on failure)."""
        if not self._policy.is_allowed(server):
            raise FederationRequestError(server, f"federation with {server} is not allowed")
        return await self._client.request(
            "POST", server, f"/_matrix/federation/v1/user/keys/{kind}", body=body
        )

    async def public_rooms(self, server: str, query: DirectoryQuery) -> dict[str, Any]:
        """Another server's published rooms (``/publicRooms?server=``)."""
        self._policy.check(server)
        body: dict[str, Any] = {}
        if query.limit:
            body["limit"] = query.limit
        if query.since:
            body["since"] = query.since
        search: dict[str, Any] = {}
        if query.search_term:
            search["generic_search_term"] = query.search_term
        if query.room_types is not None:
            search["room_types"] = list(query.room_types)
        if search:
            body["filter"] = search
        try:
            answer = await self._client.request(
                "POST", server, "/_matrix/federation/v1/publicRooms", body=body
            )
        except FederationRequestError as exc:
            raise unreachable(exc) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("chunk"), list):
            raise MatrixError(502, "M_UNKNOWN", f"{server} gave a malformed room list")
        return answer

    async def directory(self, alias: str) -> dict[str, Any]:
        """Resolve an alias of another server (``query/directory``)."""
        server = server_of(alias)
        self._policy.check(server)
        try:
            answer = await self._client.request(
                "GET", server, "/_matrix/federation/v1/query/directory", query={"room_alias": alias}
            )
        except FederationRequestError as exc:
            if exc.status == 404:
                raise not_found("Room alias not found") from None
            raise unreachable(exc) from None
        room_id = answer.get("room_id") if isinstance(answer, dict) else None
        servers = answer.get("servers") if isinstance(answer, dict) else None
        if not isinstance(room_id, str) or not isinstance(servers, list):
            raise MatrixError(502, "M_UNKNOWN", f"{server} gave a malformed alias answer")
        return {"room_id": room_id, "servers": [s for s in servers if isinstance(s, str)]}


class RemoteMediaFetcher:
    """Downloads another server's media over the authenticated federation endpoint."""

    def __init__(
        self, *, policy: FederationPolicy, client: FederationClient, max_bytes: int
    ) -> None:
        self._policy = policy
        self._client = client
        self._max_bytes = max_bytes

    async def __call__(self, server: str, media_id: str) -> RemoteFile:
        self._policy.check(server)
        try:
            response = await self._client.request_raw(
                "GET",
                server,
                encode_path("/_matrix/federation/v1/media/download/{}", media_id),
                query={"timeout_ms": "20000"},
                max_bytes=self._max_bytes + 64 * 1024,
            )
        except FederationRequestError as exc:
            if exc.status == 404:
                raise not_found("Media not found") from None
            if exc.status == 413 or (exc.status is None and "too large" in exc.message):
                raise MatrixError(413, "M_TOO_LARGE", "The remote media is too large") from None
            raise unreachable(exc) from None
        try:
            part = parse_media(response.headers.get("content-type"), response.content)
        except MultipartError as exc:
            raise MatrixError(
                502, "M_UNKNOWN", f"{server} gave a malformed media answer: {exc}"
            ) from None
        return RemoteFile(part.content_type, part.filename, part.data)
