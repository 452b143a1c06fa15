"""The simulator's HTTP app: SGLang's routes, its API-key check and its error shape, over the core modules.

Handlers only translate HTTP to the request parsing, the simulator state and the response shapes
(``parsing``, ``state``, ``responses``, ``streaming``, ``info``) and back.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any, Literal

import msgspec
from litestar import Litestar, MediaType, Request, Response, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Stream
from litestar.types import Guard

from engine.simulator import info
from engine.simulator.config import SimConfig
from engine.simulator.errors import SimHTTPError, bad_request, http_error, internal_error
from engine.simulator.faults import drop_on_abort
from engine.simulator.parsing import parse_chat, parse_completion
from engine.simulator.responses import chat_response, completion_response
from engine.simulator.script import ScriptError, load_script, parse_script
from engine.simulator.state import SimState
from engine.simulator.streaming import chat_events, completion_events, counted, prepend

_PUBLIC = "sim_public"  # route opt key: reachable without the API key, as in SGLang

_encode = msgspec.json.Encoder().encode


async def _generate(request: Request[Any, Any, Any], sim: SimState, chat: bool) -> Response[Any]:
    """Record the body, plan the answer and send it, streamed or whole."""
    body = await _read_json(request)
    if isinstance(body, dict):
        sim.recorded.append(body)
    else:
        raise bad_request("the request body must be a JSON object")
    config = sim.config
    generation = parse_chat(body, config.model) if chat else parse_completion(body, config.model)
    answer = sim.answer(generation, chat)
    sim.begin(generation, answer)
    if generation.stream:
        make_events = chat_events if chat else completion_events
        events = counted(sim, make_events(config, generation, answer))
        # As SGLang does, produce the first chunk before the response starts (TTFT before headers).
        first = await events.__anext__()
        return Stream(
            prepend(first, events), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    outcome: Literal["completed", "cancelled"] = "cancelled"
    try:
        await asyncio.sleep((config.ttft_ms + config.tpot_ms * max(len(answer.pieces) - 1, 0)) / 1000)
        payload = chat_response(generation, answer) if chat else completion_response(generation, answer)
        outcome = "completed"
    finally:
        sim.end(outcome)
    return Response(_encode(payload), media_type=MediaType.JSON)


async def _read_json(request: Request[Any, Any, Any]) -> Any:
    raw = await request.body()
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise bad_request("the request body is not valid JSON") from None


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any], sim: NamedDependency[SimState]) -> Response[Any]:
    """OpenAI chat completions, streaming or not."""
    return await _generate(request, sim, chat=True)


@post("/v1/completions", status_code=200)
async def completions(request: Request[Any, Any, Any], sim: NamedDependency[SimState]) -> Response[Any]:
    """OpenAI completions, streaming or not."""
    return await _generate(request, sim, chat=False)


@get("/v1/models")
async def list_models(sim: NamedDependency[SimState]) -> dict[str, Any]:
    """The one served model, as SGLang lists it."""
    return {"object": "list", "data": [info.model_card(sim.config, sim.started_at)]}


@get("/v1/models/{model_id:path}")
async def retrieve_model(model_id: FromPath[str], sim: NamedDependency[SimState]) -> dict[str, Any]:
    """One model card, or 404 for another name."""
    if model_id.lstrip("/") != sim.config.model:
        raise SimHTTPError(status_code=404, detail="The model does not exist.")
    return info.model_card(sim.config, sim.started_at)


@get(["/health", "/health_generate"], opt={_PUBLIC: True}, status_code=200)
async def health() -> Response[bytes]:
    """Liveness (and, in SGLang, a one-token generation): 200 with an empty body."""
    return Response(b"", status_code=200)


@get("/get_model_info")
async def model_info(sim: NamedDependency[SimState]) -> dict[str, Any]:
    """SGLang's model info."""
    return info.model_info(sim.config)


@get("/get_server_info")
async def server_info(sim: NamedDependency[SimState]) -> dict[str, Any]:
    """SGLang's server arguments and state, marked as a simulator."""
    return info.server_info(sim.config)


@get("/metrics", opt={_PUBLIC: True}, media_type="text/plain; version=0.0.4")
async def metrics(sim: NamedDependency[SimState]) -> str:
    """Prometheus metrics."""
    return info.metrics_text(sim)


@get("/sim/requests")
async def recorded_requests(sim: NamedDependency[SimState]) -> dict[str, Any]:
    """Request bodies received on the generation routes, oldest first."""
    return {"requests": list(sim.recorded)}


@delete("/sim/requests", status_code=204)
async def clear_requests(sim: NamedDependency[SimState]) -> None:
    """Forget the recorded request bodies."""
    sim.recorded.clear()


@get("/sim/stats")
async def stats(sim: NamedDependency[SimState]) -> dict[str, int]:
    """Counters of generation requests: started, completed, cancelled, aborted, in flight."""
    s = sim.stats
    return {
        "started": s.started,
        "completed": s.completed,
        "cancelled": s.cancelled,
        "aborted": s.aborted,
        "in_flight": s.in_flight,
    }


@put("/sim/script", status_code=200)
async def replace_script(request: Request[Any, Any, Any], sim: NamedDependency[SimState]) -> dict[str, Any]:
    """Serve this script (same format as a script file) from its first answer on."""
    try:
        script = parse_script(await _read_json(request))
    except ScriptError as exc:
        raise bad_request(str(exc)) from None
    sim.set_script(script)
    return {"answers": len(script)}


@delete("/sim/script", status_code=204)
async def reset_script(sim: NamedDependency[SimState]) -> None:
    """Go back to the mode (and script) the simulator was started with."""
    sim.set_script(None)


def _api_key_guard(api_key: str) -> Guard:
    """A guard refusing, with 401, requests to non-public routes without ``api_key`` (Bearer or x-api-key)."""
    expected = api_key.encode()

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if handler.opt.get(_PUBLIC):
            return
        authorization = connection.headers.get("authorization", "")
        offered = (
            authorization[7:]
            if authorization[:7].lower() == "bearer "
            else connection.headers.get("x-api-key", "")
        )
        if not hmac.compare_digest(offered.strip().encode(), expected):
            raise NotAuthorizedException("Unauthorized: a valid API key is required.")

    return guard


def create_sim_app(config: SimConfig) -> Litestar:
    """Build the simulator's Litestar app; the script file (script mode) is loaded and checked here."""
    script = load_script(config.script_path) if config.mode == "script" and config.script_path else None
    sim = SimState(config, script)

    def provide_sim() -> SimState:
        return sim

    return Litestar(
        route_handlers=[
            chat_completions,
            completions,
            list_models,
            retrieve_model,
            health,
            model_info,
            server_info,
            metrics,
            recorded_requests,
            clear_requests,
            stats,
            replace_script,
            reset_script,
        ],
        dependencies={"sim": Provide(provide_sim, sync_to_thread=False)},
        guards=[_api_key_guard(config.api_key)] if config.api_key else [],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
        middleware=[drop_on_abort],
        state=State({"sim": sim}),
        request_max_body_size=256 * 1024 * 1024,
        openapi_config=None,
        debug=False,
    )
