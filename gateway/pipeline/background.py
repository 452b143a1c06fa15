"""Audit records written after the client has gone (a disconnect mid-stream), and their drain.

Such a record is written by a task so the connection closes at once; the task is held in
``services.background`` until it finishes. The app's lifespan awaits :func:`drain_background`
before it closes the audit log, so a record of a client that left just before shutdown is
still committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, MutableSet
from typing import Any, Protocol

import structlog

from audit.errors import AuditError

log = structlog.get_logger("gateway.pipeline")


class HasBackground(Protocol):
    """Anything that keeps the process's background tasks (``Services``)."""

    @property
    def background(self) -> MutableSet[Any]: ...


def run_in_background(
    owner: HasBackground, work: Coroutine[Any, Any, None], *, request_id: str
) -> asyncio.Task[None]:
    """Start ``work`` (an audit append) as a task kept in ``owner.background`` until it ends.

    A failure is logged by type (never its message, which may quote content), not raised.
    """
    task = asyncio.get_running_loop().create_task(work)
    owner.background.add(task)

    def done(finished: asyncio.Task[None]) -> None:
        owner.background.discard(finished)
        if finished.cancelled():
            log.error("audit.background_cancelled", request_id=request_id)
            return
        error = finished.exception()
        if error is not None:
            event = "audit.background_failed" if isinstance(error, AuditError) else "audit.background_error"
            log.error(event, request_id=request_id, error_type=type(error).__name__)

    task.add_done_callback(done)
    return task


async def drain_background(owner: HasBackground, timeout_s: float) -> bool:
    """Wait until every background task of ``owner`` has finished, at most ``timeout_s`` seconds
    in all (tasks started while waiting are waited for too). True when none is left; otherwise
    the rest are cancelled, logged by count, and False is returned."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while owner.background:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await asyncio.wait(set(owner.background), timeout=remaining)
        # Done callbacks (which drop finished tasks from the set) run on the next loop turn.
        await asyncio.sleep(0)
    pending = [task for task in owner.background if not task.done()]
    if not pending:
        return True
    log.error("audit.background_not_drained", tasks=len(pending), timeout_s=timeout_s)
    for task in pending:
        task.cancel()
    return False
