"""The server's log lines: one format, its time stamp made once per second.

Every request writes an access-log line, and in a room of thousands that is
thousands of lines a second: formatting the date for each one was a visible
share of the server's CPU. The lines are exactly those of
``logging.basicConfig(format=LOG_FORMAT)``.
"""

import asyncio
import logging
import sys
import time
from typing import TextIO

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
        return self.stamp(record.created)

    def stamp(self, created: float) -> str:
        """``asctime`` for a record made at ``created`` (seconds since the epoch)."""
        second = int(created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(created))
            self._second = second
        return self.default_msec_format % (self._stamp, int((created - second) * 1000))


class AccessLogWriter:
    """Access-log lines straight to the log's stream, each loop turn's in one write.

    The served process's access log: the same lines as the ``sceau.access``
    logger would write through :class:`ServerLogFormatter`, without a log
    record, a handler lock and a system call per line. A line waits at most
    for the end of the event loop's current turn.
    """

    def __init__(self, stream: TextIO, formatter: ServerLogFormatter) -> None:
        self._stream = stream
        self._formatter = formatter
        self._pending: list[str] = []

    def __call__(self, line: str) -> None:
        if not self._pending:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop: written at once below
                self._pending.append(self._prefixed(line))
                self.flush()
                return
        self._pending.append(self._prefixed(line))

    def _prefixed(self, line: str) -> str:
        return f"{self._formatter.stamp(time.time())} INFO sceau.access: {line}\n"

    def flush(self) -> None:
        """Write the lines waiting, if any."""
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed or broken standard error: nothing to do
            pass


def configure_server_logging(stream: TextIO | None = None) -> AccessLogWriter:
    """INFO and above to standard error, in :data:`LOG_FORMAT`; the access log's writer."""
    target = stream if stream is not None else sys.stderr
    formatter = ServerLogFormatter()
    handler = logging.StreamHandler(target)
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    return AccessLogWriter(target, formatter)
