"""The listener ``gateway serve`` binds before it serves."""

from __future__ import annotations

import asyncio
import socket

from gateway.cli import bind_listener


async def test_connections_accepted_on_the_listener_send_without_nagle_delay() -> None:
    # Without TCP_NODELAY a small answer waits for the client's delayed ACK: about 40 ms a request.
    sock = bind_listener("127.0.0.1", 0)
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(
            writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        writer.close()

    server = await asyncio.start_server(on_connect, sock=sock)
    try:
        _reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        assert await asyncio.wait_for(accepted, 30) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
