"""A response's writes reach the socket as one, at the end of the loop's turn."""

import asyncio

from sceau.http.coalescing import FLUSH_AT_BYTES, CoalescingTransport


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0


async def test_headers_and_body_written_in_one_turn_go_out_in_one_write():
    real = RecordingTransport()
    transport = CoalescingTransport(real)
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert real.writes == []
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


async def test_closing_sends_what_waits_first_and_a_large_body_goes_at_once():
    real = RecordingTransport()
    transport = CoalescingTransport(real)
    transport.write(b"bye")
    transport.close()
    assert real.writes == [b"bye"] and real.closed
    await asyncio.sleep(0)
    assert real.writes == [b"bye"]  # nothing written twice, nothing after closing

    real = RecordingTransport()
    transport = CoalescingTransport(real)
    transport.write(b"x" * FLUSH_AT_BYTES)
    assert real.writes == [b"x" * FLUSH_AT_BYTES]
    assert transport.get_write_buffer_size() == 0
