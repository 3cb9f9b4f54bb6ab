"""Outbound email through the configured SMTP server, the only outbound connection made.

smtplib is blocking, so each message is sent in a worker thread.
"""

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from sceau.config import EmailConfig


class MailError(Exception):
    """The SMTP server could not be reached or refused the message."""


class Mailer:
    SMTP_TIMEOUT_S = 30

    def __init__(self, config: EmailConfig) -> None:
        self._config = config
        #: Messages being handed to the SMTP server now (the email job queue's length).
        self.pending = 0

    @property
    def configured(self) -> bool:
        return bool(self._config.smtp_host)

    async def send(self, to: str, subject: str, text: str) -> None:
        """Send a plain-text message; raise MailError if it was not accepted."""
        message = EmailMessage()
        message["From"] = self._config.from_address
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="sceau")
        message.set_content(text)
        self.pending += 1
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(str(exc)) from exc
        finally:
            self.pending -= 1

    def _send_blocking(self, message: EmailMessage) -> None:
        config = self._config
        assert config.smtp_host
        smtp: smtplib.SMTP
        if config.smtp_ssl:
            smtp = smtplib.SMTP_SSL(
                config.smtp_host,
                config.smtp_port,
                timeout=self.SMTP_TIMEOUT_S,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=self.SMTP_TIMEOUT_S)
        with smtp:
            if config.smtp_starttls and not config.smtp_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if config.smtp_username:
                smtp.login(config.smtp_username, config.smtp_password or "")
            smtp.send_message(message)
