"""The passthrough floor: the gateway's HTTP stack with nothing of the gateway in it.

A Litestar app with one route that forwards the request body to the upstream with aiohttp and
relays the answer (whole, or as an SSE stream), served by uvicorn on uvloop with the httptools parser,
as ``gateway serve`` is. No authentication, no checks, no audit, no PII: what a proxy built on
this stack cannot go below. ``make bench`` measures it beside the gateway, so the gateway's own
cost shows as its distance from this row.

    python -m bench.floor_app --port 8081 --upstream http://127.0.0.1:30000
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import uvicorn
import uvloop
from litestar import Litestar, Request, Response, get, post
from litestar.response import Stream


def create(upstream: str) -> Litestar:
    """The floor app forwarding ``/v1/chat/completions`` to ``upstream``."""
    sessions: list[aiohttp.ClientSession] = []

    def session() -> aiohttp.ClientSession:
        if not sessions:
            sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)))
        return sessions[0]

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @post("/v1/chat/completions", status_code=200)
    async def chat(request: Request[Any, Any, Any]) -> Any:
        body = await request.body()
        headers = {"Content-Type": "application/json"}
        if b'"stream":true' not in body.replace(b" ", b""):
            async with session().post(upstream + "/v1/chat/completions", data=body, headers=headers) as up:
                return Response(await up.read(), status_code=up.status, media_type="application/json")
        response = await session().post(upstream + "/v1/chat/completions", data=body, headers=headers)

        async def frames() -> AsyncIterator[bytes]:
            try:
                async for line in response.content:
                    yield line
            finally:
                response.release()

        return Stream(frames(), media_type="text/event-stream")

    async def close() -> None:
        for item in sessions:
            await item.close()

    return Litestar([healthz, chat], on_shutdown=[close], openapi_config=None)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the floor app until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        create(args.upstream.rstrip("/")),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="none",
    )
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(uvicorn.Server(config).serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
