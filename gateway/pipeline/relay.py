"""The SSE stream relay: upstream chunks through the output filter to the client.

The end of a stream is the audit log's to decide: ``data: [DONE]`` goes out only after the
response record is committed (and the tokens charged). An engine error event, an upstream that
ends without ``[DONE]``, or any failure (audit store, rate limiter, detection) ends the stream
with an error event and no ``[DONE]``, so a client never takes a partial answer for a complete
one. A blocked answer ends with a ``content_filter`` chunk. When the client goes away, the
partial answer is recorded by a background task (``delivered: client_disconnected``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from audit.errors import AuditError
from engine.errors import EngineUnavailable
from gateway.auth.ratelimit import record_tokens
from gateway.errors import error_body, to_response
from gateway.pipeline.background import run_in_background
from gateway.pipeline.context import Exchange
from gateway.pipeline.output import StreamState, filter_stream_chunk
from gateway.pipeline.records import append_response_record, record_failure
from gateway.pipeline.shapes import (
    SSE_DONE,
    blocked_frames,
    decode_chunk,
    drop_logprobs,
    is_engine_error,
    sse,
)
from policies.output.stream_filter import StreamFilter

if TYPE_CHECKING:
    from gateway.services import Services

log = structlog.get_logger("gateway.pipeline")

ENGINE_ERROR = "engine_error"


class StreamRelay:
    """One stream's relay. ``frames`` is the generator the response sends; everything the
    stream needs to know about the caller comes from the exchange's context."""

    def __init__(
        self, services: Services, exchange: Exchange, filt: StreamFilter, *, client_wants_usage: bool
    ) -> None:
        self._services = services
        self._exchange = exchange
        self._context = exchange.context
        self._filter = filt
        self._wants_usage = client_wants_usage
        self.state = StreamState()
        self._done = False  # the upstream sent [DONE]
        self._engine_failed = False  # the upstream sent an error event
        self._recorded = False  # a response record was written (or is known to be unwritable)

    def __repr__(self) -> str:
        return f"StreamRelay(request_id={self._context.request_id})"

    async def frames(
        self, stack: contextlib.AsyncExitStack, events: AsyncIterator[bytes]
    ) -> AsyncGenerator[bytes, None]:
        """Filtered frames of ``events``; ``stack`` holds the upstream connection (closed here)."""
        try:
            async with stack:
                async for frame in self._relay(events):
                    yield frame
            ending = await self._conclude()
        except Exception as exc:
            ending = await self._abort(exc)
        finally:
            if not self._recorded:  # the client went away (cancellation): record what was produced
                self._record_disconnect()
        for frame in ending:
            yield frame

    async def _relay(self, events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Upstream events to filtered frames, until [DONE], an error event, or a block."""
        async for data in events:
            if data == b"[DONE]":
                self._done = True
                return
            chunk = decode_chunk(data)
            if chunk is None:
                continue
            if is_engine_error(chunk):
                self._engine_failed = True
                return
            frame = await self._filter_chunk(chunk)
            if self._filter.blocked:
                return
            if frame is not None:
                yield frame

    async def _filter_chunk(self, chunk: dict[str, Any]) -> bytes | None:
        """One upstream chunk as the client may see it, or None when nothing is to be sent."""
        self.state.observe(chunk)
        if not chunk.get("choices"):
            # The usage chunk (no choices): only for a client that asked for usage.
            return sse(chunk) if self._wants_usage else None
        if not self._wants_usage and "usage" in chunk:
            chunk["usage"] = None
        drop_logprobs(chunk)
        if self._filter.scans_names:
            # With NER a finished clause costs milliseconds: off the event loop, bounded in time.
            work = partial(filter_stream_chunk, chunk, self._filter, self.state)
            out = await self._services.pii_pool.run(work)
        else:
            out = filter_stream_chunk(chunk, self._filter, self.state)
        return sse(out) if out is not None else None

    async def _conclude(self) -> list[bytes]:
        """The upstream ended: commit the response record, then say how the stream ends."""
        if self._engine_failed:
            await self._record("error", ENGINE_ERROR)
            message = "The model worker failed while answering."
            return [sse(error_body(message, "server_error", ENGINE_ERROR))]  # no [DONE]
        blocked = self._filter.blocked
        if not self._done and not blocked:
            # The worker closed the stream without finishing it: not a complete answer.
            raise EngineUnavailable("engine stream ended before [DONE]")
        await self._record("block" if blocked else "allow", "blocked" if blocked else "complete")
        context = self._context
        used = int((self.state.usage or {}).get("total_tokens") or 0)
        await record_tokens(self._services.limiter, context.principal, context.authz.limits, used)
        ending = blocked_frames(context.route, self.state.template, context.model) if blocked else []
        return [*ending, SSE_DONE]

    async def _record(self, decision: str, delivered: str) -> None:
        await append_response_record(
            self._services.audit,
            self._context,
            decision=decision,
            answer=self.state.raw,
            usage=self.state.usage,
            delivered=delivered,
            decisions=self._filter.decisions,
        )
        self._recorded = True

    async def _abort(self, exc: Exception) -> list[bytes]:
        """Engine dropped mid-answer, audit store down, rate limiter down...: record the failure
        (unless the audit store is what failed) and end with an error event, no [DONE]."""
        log.warning("stream.aborted", request_id=self._context.request_id, error_type=type(exc).__name__)
        if not self._recorded and not isinstance(exc, AuditError):
            await record_failure(
                self._services.audit,
                self._context,
                exc,
                answer=self.state.raw,
                decisions=self._filter.decisions,
            )
        self._recorded = True
        body = to_response(exc).content
        return [sse(body if isinstance(body, dict) else error_body("stream aborted", "server_error", None))]

    def _record_disconnect(self) -> None:
        """The client went away mid-answer: record what was produced, without blocking the close."""
        work = append_response_record(
            self._services.audit,
            self._context,
            decision="block" if self._filter.blocked else "allow",
            answer=self.state.raw,
            usage=self.state.usage,
            delivered="client_disconnected",
            decisions=self._filter.decisions,
        )
        run_in_background(self._services, work, request_id=self._context.request_id)
