"""Shared type aliases for the protocol core."""

from typing import Any

JsonDict = dict[str, Any]
"""A decoded JSON object, as events and request bodies are handled."""

StateKey = tuple[str, str]
"""The (event type, state key) pair that identifies a piece of room state."""
