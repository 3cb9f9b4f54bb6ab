"""Password rules: what a new password must contain, and how clients learn the rules.

The rules come from ``policy.password`` and apply to every way a password is set
(registration, change, reset by email, admin API and CLI), so no path is weaker
than another.
"""

from typing import Any

from sceau.config import PasswordPolicyConfig
from sceau.errors import MatrixError, invalid_param

#: Longer passwords are refused outright: argon2id work is bounded by input size.
MAX_PASSWORD_LENGTH = 512


def _refused(errcode: str, message: str) -> MatrixError:
    return MatrixError(400, errcode, message)


class PasswordPolicy:
    """Checks new passwords against the configured rules."""

    def __init__(self, config: PasswordPolicyConfig) -> None:
        self._config = config

    def describe(self) -> dict[str, Any]:
        """The body of ``GET /password_policy``: the rules as clients read them."""
        rules = self._config
        return {
            "m.minimum_length": rules.minimum_length,
            "m.require_digit": rules.require_digit,
            "m.require_symbol": rules.require_symbol,
            "m.require_uppercase": rules.require_uppercase,
            "m.require_lowercase": rules.require_lowercase,
        }

    def check(self, password: str) -> None:
        """Raise the error naming the first rule ``password`` breaks, if any."""
        rules = self._config
        if not password:
            raise MatrixError(400, "M_WEAK_PASSWORD", "The password must not be empty")
        if len(password) > MAX_PASSWORD_LENGTH:
            raise invalid_param(f"The password is longer than {MAX_PASSWORD_LENGTH} characters")
        if len(password) < rules.minimum_length:
            raise _refused(
                "M_PASSWORD_TOO_SHORT",
                f"The password must be at least {rules.minimum_length} characters long",
            )
        if rules.require_digit and not any(c.isdigit() for c in password):
            raise _refused("M_PASSWORD_NO_DIGIT", "The password must contain a digit")
        if rules.require_symbol and all(c.isalnum() for c in password):
            raise _refused("M_PASSWORD_NO_SYMBOL", "The password must contain a symbol")
        if rules.require_uppercase and not any(c.isupper() for c in password):
            raise _refused(
                "M_PASSWORD_NO_UPPERCASE", "The password must contain an upper-case letter"
            )
        if rules.require_lowercase and not any(c.islower() for c in password):
            raise _refused(
                "M_PASSWORD_NO_LOWERCASE", "The password must contain a lower-case letter"
            )
