"""The error every authorisation check raises (its own module to avoid import cycles)."""


class AuthError(Exception):
    """The event is not allowed by the authorisation rules."""
