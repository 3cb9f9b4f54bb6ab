"""The server's log lines are those of the standard formatter, date cached or not."""

import asyncio
import io
import logging
import re

from sceau.logs import LOG_FORMAT, AccessLogWriter, ServerLogFormatter


def test_server_log_lines_match_the_standard_format_across_seconds():
    standard, cached = logging.Formatter(LOG_FORMAT), ServerLogFormatter()
    for created in (1_700_000_000.123, 1_700_000_000.987, 1_700_000_001.004, 1_700_000_000.5):
        record = logging.LogRecord("sceau.access", logging.INFO, __file__, 1, "GET /x", None, None)
        record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
        assert cached.format(record) == standard.format(record)


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_access_lines_of_one_loop_turn_go_out_in_one_write_as_the_logger_would_format_them():
    stream = CountingStream()
    writer = AccessLogWriter(stream, ServerLogFormatter())
    writer("127.0.0.1 GET /a 200 1.0ms -")
    writer("127.0.0.1 GET /b 200 1.0ms @a:x")
    assert stream.getvalue() == ""  # not before the end of this turn
    await asyncio.sleep(0)
    lines = stream.getvalue().splitlines()
    assert stream.writes == 1
    assert [line.split(" INFO sceau.access: ")[1] for line in lines] == [
        "127.0.0.1 GET /a 200 1.0ms -",
        "127.0.0.1 GET /b 200 1.0ms @a:x",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", lines[0].split(" INFO ")[0])


def test_without_a_loop_an_access_line_is_written_at_once():
    stream = io.StringIO()
    AccessLogWriter(stream, ServerLogFormatter())("127.0.0.1 GET /a 200 1.0ms -")
    assert stream.getvalue().endswith(" INFO sceau.access: 127.0.0.1 GET /a 200 1.0ms -\n")
