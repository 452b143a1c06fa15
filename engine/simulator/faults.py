"""Fault injection: scripted refusals and scripted mid-stream aborts (a worker that dies mid-answer)."""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

from engine.simulator.errors import SimHTTPError
from engine.simulator.script import ScriptedError


class SimulatedAbort(Exception):
    """Raised inside a stream to drop the connection the way a crashed worker would."""


def scripted_error(error: ScriptedError) -> SimHTTPError:
    """The refusal a scripted error answer stands for, in SGLang's error shape."""
    return SimHTTPError(status_code=error.status, detail=error.message)


def drop_on_abort(app: ASGIApp) -> ASGIApp:
    """Let a scripted mid-stream abort end the request silently, so the server just closes the connection."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            if not _caused_by_abort(exc):
                raise

    return middleware


def _caused_by_abort(exc: BaseException | None) -> bool:
    # Litestar reports a failure after the response started as a LitestarException caused by the
    # anyio task group's ExceptionGroup, which holds the SimulatedAbort raised in the stream.
    while exc is not None:
        if isinstance(exc, SimulatedAbort):
            return True
        if isinstance(exc, BaseExceptionGroup):
            return any(_caused_by_abort(inner) for inner in exc.exceptions)
        exc = exc.__cause__
    return False
