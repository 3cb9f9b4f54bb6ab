"""The server's log lines: one format, its time stamp made once per second.

Every request writes an access-log line, and in a room of thousands that is
thousands of lines a second: formatting the date for each one was a visible
share of the server's CPU. The lines are exactly those of
``logging.basicConfig(format=LOG_FORMAT)``.
"""

import logging
import time

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ServerLogFormatter(logging.Formatter):
    """:data:`LOG_FORMAT`, with the date and time formatted once per second."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = second
        return self.default_msec_format % (self._stamp, record.msecs)


def configure_server_logging() -> None:
    """INFO and above to standard error, in :data:`LOG_FORMAT`."""
    handler = logging.StreamHandler()
    handler.setFormatter(ServerLogFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
