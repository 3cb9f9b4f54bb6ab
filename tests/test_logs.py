"""The server's log lines are those of the standard formatter, date cached or not."""

import logging

from sceau.logs import LOG_FORMAT, ServerLogFormatter


def test_server_log_lines_match_the_standard_format_across_seconds():
    standard, cached = logging.Formatter(LOG_FORMAT), ServerLogFormatter()
    for created in (1_700_000_000.123, 1_700_000_000.987, 1_700_000_001.004, 1_700_000_000.5):
        record = logging.LogRecord("sceau.access", logging.INFO, __file__, 1, "GET /x", None, None)
        record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
        assert cached.format(record) == standard.format(record)
