"""A real SMTP server for tests (aiosmtpd on a free port) and the messages it received.

The ``smtp`` and ``inbox`` fixtures live in tests/conftest.py.
"""

import re
from email import message_from_bytes
from email.message import Message
from typing import Any


class Inbox:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def link(self, index: int = -1) -> str:
        body = self.messages[index].get_payload(decode=True).decode()
        found = re.search(r"https://sceau\.test/\S+", body)
        assert found, body
        return found.group(0)
