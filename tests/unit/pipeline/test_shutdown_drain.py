"""A client that disconnects just before shutdown: its response record (written in the
background) is committed before the app's lifespan closes the audit log.

The whole app runs in process (Litestar's TestClient) in front of a scripted engine. The request
is driven through the ASGI interface directly, so the disconnect arrives exactly after the
first frame; the record's commit is held until the lifespan's shutdown has begun (the injected
slow point), so it can only land if shutdown waits for it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from audit.records import AuditEvent
from gateway.app import create_app
from gateway.settings import load_settings

from .conftest import MODEL, ScriptedEngine, chunk


class ShutdownWatch:
    """The app, as the server sees it, with ``shutdown`` set when the server tells the app's
    lifespan to shut down (everything else passes through unchanged)."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.shutdown = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)

        async def receive_and_watch() -> Any:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                self.shutdown.set()
            return message

        return await self.app(scope, receive_and_watch, send)


async def _disconnect_after_first_frame(app: Litestar, key: str) -> list[bytes]:
    body = json.dumps(
        {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hello"}]}
    ).encode()
    first_frame = asyncio.Event()
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await first_frame.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            sent.append(message["body"])
            first_frame.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
        "extensions": {},
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


def test_a_disconnect_just_before_shutdown_is_still_recorded(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path),
            "engine": {"urls": ["http://127.0.0.1:9"]},  # never called: the scripted engine answers
            "pii": {"enabled": False},
        },
    )
    app = create_app(settings)
    watched = ShutdownWatch(app)
    committed: list[AuditEvent] = []
    with TestClient(watched) as client:
        services = app.state.services
        real_append = services.audit.append

        async def append(event: AuditEvent) -> Any:
            if event.kind == "chat.response":
                await watched.shutdown.wait()  # the slow point: the commit is still running at shutdown
            result = await real_append(event)
            committed.append(event)
            return result

        services.audit.append = append

        async def never() -> None:
            await asyncio.Event().wait()  # the model is still generating when the client leaves

        engine = ScriptedEngine([chunk("first words"), never])
        # Services is frozen; the test puts its own engine in the running app.
        object.__setattr__(services, "engine", engine)

        async def make_key() -> str:
            _, plaintext = await services.keys.create("drain-test", ["service"])
            return str(plaintext)

        key = client.blocking_portal.call(make_key)
        sent = client.blocking_portal.call(_disconnect_after_first_frame, app, key)
        assert b"first words" in b"".join(sent)
        assert engine.closed == 1  # the upstream generation was abandoned
        assert len(services.background) == 1  # the record is being written in the background
        assert [e.kind for e in committed] == ["chat.request"]
    # The lifespan has ended (audit log closed): the record made it in before.
    response = [e for e in committed if e.kind == "chat.response"]
    assert len(response) == 1
    assert response[0].payload is not None
    assert response[0].payload["delivered"] == "client_disconnected"
    assert response[0].payload["answer"] == {"0": {"content": "first words"}}
