"""The one exception type that carries a Matrix error to the client.

Services raise :class:`MatrixError`; the HTTP layer renders it in one place.
Constructors are named after the spec's error codes so call sites read well.
"""

from typing import Any


class MatrixError(Exception):
    """An error with a Matrix ``errcode`` and the HTTP status the spec gives it."""

    def __init__(self, status: int, errcode: str, error: str, **extra: Any) -> None:
        super().__init__(f"{errcode}: {error}")
        self.status = status
        self.errcode = errcode
        self.error = error
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        if not self.errcode:
            # A first user-interactive-auth challenge is not an error: flows only.
            return dict(self.extra)
        return {"errcode": self.errcode, "error": self.error, **self.extra}


def not_json(error: str = "Content not JSON.") -> MatrixError:
    return MatrixError(400, "M_NOT_JSON", error)


def bad_json(error: str) -> MatrixError:
    return MatrixError(400, "M_BAD_JSON", error)


def missing_param(name: str) -> MatrixError:
    return MatrixError(400, "M_MISSING_PARAM", f"Missing parameter: {name}")


def invalid_param(error: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_PARAM", error)


def forbidden(error: str) -> MatrixError:
    return MatrixError(403, "M_FORBIDDEN", error)


def not_found(error: str = "Not found") -> MatrixError:
    return MatrixError(404, "M_NOT_FOUND", error)


def unrecognized(error: str = "Unrecognized request", status: int = 404) -> MatrixError:
    return MatrixError(status, "M_UNRECOGNIZED", error)


def unknown(error: str, status: int = 400) -> MatrixError:
    return MatrixError(status, "M_UNKNOWN", error)


def too_large(error: str = "Request too large") -> MatrixError:
    return MatrixError(413, "M_TOO_LARGE", error)


def limit_exceeded(retry_after_ms: int) -> MatrixError:
    return MatrixError(429, "M_LIMIT_EXCEEDED", "Too many requests", retry_after_ms=retry_after_ms)


def missing_token() -> MatrixError:
    return MatrixError(401, "M_MISSING_TOKEN", "Missing access token")


def unknown_token(soft_logout: bool = False) -> MatrixError:
    return MatrixError(
        401, "M_UNKNOWN_TOKEN", "Unknown or expired access token", soft_logout=soft_logout
    )


def user_in_use() -> MatrixError:
    return MatrixError(400, "M_USER_IN_USE", "User ID already taken")


def invalid_username(error: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_USERNAME", error)


def room_in_use() -> MatrixError:
    return MatrixError(400, "M_ROOM_IN_USE", "Room alias already taken")


def unsupported_room_version(version: str) -> MatrixError:
    return MatrixError(
        400, "M_UNSUPPORTED_ROOM_VERSION", f"Room version {version!r} is not supported"
    )


def guest_access_forbidden() -> MatrixError:
    return MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is not allowed")


def expired_account() -> MatrixError:
    """Synapse's code for an account past its expiration_ts (account validity)."""
    return MatrixError(403, "ORG_MATRIX_EXPIRED_ACCOUNT", "User account has expired")


def user_deactivated() -> MatrixError:
    return MatrixError(403, "M_USER_DEACTIVATED", "This account has been deactivated")


def unstorable_text() -> MatrixError:
    """A value no column can hold: text with a NUL character, an integer beyond 64 bits."""
    return MatrixError(400, "M_INVALID_PARAM", "Value out of range (NUL character or huge number)")


def cannot_overwrite_media() -> MatrixError:
    return MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded")


def not_yet_uploaded() -> MatrixError:
    return MatrixError(504, "M_NOT_YET_UPLOADED", "Content has not yet been uploaded")


def backend_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database or Redis cannot be reached right now.

    The request then did not happen (nothing is acknowledged before a
    commit), so the client is told to retry (503) rather than shown a 500.
    """
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    try:
        import asyncpg.exceptions as pg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    unavailable: tuple[type[BaseException], ...] = (
        pg.PostgresConnectionError,
        pg.OperatorInterventionError,
        pg.InterfaceError,
        pg.CannotConnectNowError,
        pg.TooManyConnectionsError,
        # A pooled connection whose server went away mid-operation.
        pg.InternalClientError,
    )
    if isinstance(exc, unavailable):
        return True
    module = type(exc).__module__
    return module.startswith("redis.") and type(exc).__name__ in {"ConnectionError", "TimeoutError"}
