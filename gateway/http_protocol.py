"""The HTTP/1.1 protocol uvicorn serves the gateway with: httptools (llhttp), in the OpenAI error shape.

uvicorn answers a request its parser refuses (control characters in a header, a Content-Length
that is not a number, bytes after a body shorter than its Content-Length) itself, before the app
sees it, with a plain-text 400. This subclass answers with the OpenAI error shape instead, as
every other refusal of the gateway does; the connection is closed after it, as uvicorn does.

httptools, unlike h11, keeps no bound on a request's head: a client could send headers or a URL
without end and the parser would buffer them all. The head is bounded here (``MAX_HEAD_BYTES``):
a request whose head is still open after that many bytes gets 431 and its connection is closed.

httptools replaced h11 here: it parses a request and writes its answer with far less interpreter
time (about 0.3-0.4 ms of CPU per request at c=1, measured in docs/benchmarks.md).
"""

from __future__ import annotations

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.errors import error_body

MAX_HEAD_BYTES = 64 * 1024
"""The most bytes a request line and its headers may take (h11's own bound was 16 KiB)."""


def _closing_error(status: bytes, message: str, code: str) -> bytes:
    body = msgspec.json.encode(error_body(message, "invalid_request_error", code))
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
        b"connection: close\r\n\r\n" + body
    )


MALFORMED_RESPONSE = _closing_error(b"400 Bad Request", "Malformed HTTP request.", "malformed_http")
"""The whole response to a request the parser refused."""

HEAD_TOO_LARGE_RESPONSE = _closing_error(
    b"431 Request Header Fields Too Large", "Request line and headers too large.", "headers_too_large"
)
"""The whole response to a request whose head passed ``MAX_HEAD_BYTES``."""


class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded head and refusals in the OpenAI error shape."""

    _head_open = False  # a request has begun and its headers are not complete yet
    _head_bytes = 0
    _chunk_bytes = 0

    def data_received(self, data: bytes) -> None:
        """Parse ``data``; refuse the request if its head is still open past ``MAX_HEAD_BYTES``."""
        self._chunk_bytes = len(data)
        super().data_received(data)
        if not self._head_open or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refuse(HEAD_TOO_LARGE_RESPONSE)

    def on_message_begin(self) -> None:
        """A request begins: count its head from the next chunk on.

        The chunk it begins in is not counted (it may hold the end of the request before, when
        pipelined): it is bounded by the transport's read size, so the head stays bounded.
        """
        super().on_message_begin()
        self._head_open = True
        self._head_bytes = -self._chunk_bytes

    def on_headers_complete(self) -> None:
        """The head is whole: stop counting it."""
        self._head_open = False
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """Answer a request the parser refused in the OpenAI error shape and close."""
        self._refuse(MALFORMED_RESPONSE)

    def _refuse(self, response: bytes) -> None:
        self.transport.write(response)
        self.transport.close()
