"""The request pipeline for ``/v1/chat/completions`` and ``/v1/completions``.

Order (docs/ARCHITECTURE.md, "The request path"): admission (:mod:`.admission`: size, model,
model authorization, data subject, rate limits, injection screen, PII redaction, request record),
forwarding (:mod:`.upstream`), the filtered answer (:mod:`.output`, :mod:`.relay` for streams),
the response record (:mod:`.records`) before the end of the answer. One immutable
:class:`RequestContext` (:mod:`.context`) carries the request's policy snapshot throughout.
"""

from gateway.pipeline.admission import Arrival, admit, resolve_model
from gateway.pipeline.background import drain_background
from gateway.pipeline.context import (
    CHAT,
    COMPLETIONS,
    Exchange,
    RequestAuthorization,
    RequestContext,
    Route,
    authorize_request,
)
from gateway.pipeline.output import FilterSettings, make_filter
from gateway.pipeline.upstream import complete, open_stream

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "Arrival",
    "Exchange",
    "FilterSettings",
    "RequestAuthorization",
    "RequestContext",
    "Route",
    "admit",
    "authorize_request",
    "complete",
    "drain_background",
    "make_filter",
    "open_stream",
    "resolve_model",
]
