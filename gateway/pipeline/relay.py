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
from gateway.observability.request import Step, current_observation
from gateway.pipeline.background import run_in_background
from gateway.pipeline.context import Exchange
from gateway.pipeline.observe import observe_detection_of_answer, observe_usage
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
from policies.errors import DetectionUnavailable
from policies.output.stream_filter import StreamFilter

if TYPE_CHECKING:
    from gateway.services import Services

log = structlog.get_logger("gateway.pipeline")

ENGINE_ERROR = "engine_error"


class StreamRelay:
    """One stream's relay. ``frames`` is the generator the response sends; everything the
    stream needs to know about the caller comes from the exchange's context."""

    def __init__(
        self,
        services: Services,
        exchange: Exchange,
        filt: StreamFilter,
        *,
        client_wants_usage: bool,
        upstream: Step | None = None,
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
        # Observations: the upstream step (opened when the stream was connected), the time to the
        # first event and to the first chunk with a choice, and the filter's time, accumulated.
        self._observation = current_observation()
        self._upstream = upstream
        self._filter_step = self._observation.step("gateway.output.filter")
        self._first_byte_s: float | None = None
        self._first_token_s: float | None = None
        self._filter_s = 0.0
        self._observed = False

    def __repr__(self) -> str:
        return f"StreamRelay(request_id={self._context.request_id})"

    async def frames(
        self, stack: contextlib.AsyncExitStack, events: AsyncIterator[bytes]
    ) -> AsyncGenerator[bytes, None]:
        """Filtered frames of ``events``; ``stack`` holds the upstream connection (closed here)."""
        try:
            try:
                async with stack:
                    async for frame in self._relay(events):
                        yield frame
            except BaseException as exc:
                self._observe_end(exc if isinstance(exc, Exception) else None)
                raise
            self._observe_end(None)
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
            if self._first_byte_s is None and self._upstream is not None:
                self._first_byte_s = self._upstream.elapsed()
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
        if self._first_token_s is None and self._upstream is not None:
            self._first_token_s = self._upstream.elapsed()
        if not self._wants_usage and "usage" in chunk:
            chunk["usage"] = None
        drop_logprobs(chunk)
        clock = self._observation.clock
        started = clock()
        try:
            if self._filter.holds_clauses:
                # With NER a finished clause costs milliseconds: off the event loop, bounded in time.
                work = partial(filter_stream_chunk, chunk, self._filter, self.state)
                out = await self._services.pii_pool.run(work)
            else:
                out = filter_stream_chunk(chunk, self._filter, self.state)
        finally:
            self._filter_s += clock() - started
        return sse(out) if out is not None else None

    def _observe_end(self, error: Exception | None) -> None:
        """The upstream ended (or broke off): end the upstream and filter steps with their
        timings, and record token timing and answer-side detection time (once)."""
        if self._observed:
            return
        self._observed = True
        observation, step = self._observation, self._upstream
        if step is not None:
            last_byte = step.elapsed()
            if self._first_byte_s is not None:
                step.set("gateway.upstream.time_to_first_byte_s", self._first_byte_s)
            step.set("gateway.upstream.time_to_last_byte_s", last_byte)
            first = self._first_token_s
            observe_usage(
                observation,
                step,
                self.state.usage,
                first_token_s=first,
                generation_s=last_byte - first if first is not None else None,
            )
            step.end(error)
        filter_step = self._filter_step
        filter_step.set("gateway.filter.time_s", self._filter_s)
        filter_step.set("gateway.filter.blocked", self._filter.blocked)
        filter_step.end(error if isinstance(error, DetectionUnavailable) else None)
        if self._context.detector is not None:
            observation.add_time("pii", self._filter_s)
            detection_error = error if isinstance(error, DetectionUnavailable) else None
            observe_detection_of_answer(observation, self._filter_s, detection_error)

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
