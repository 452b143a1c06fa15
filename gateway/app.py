"""The application factory: ``create_app(settings)`` builds one Litestar app with its services.

Long-lived objects are built in the lifespan and injected (``services``, ``principal``,
``policy``); identity is Litestar authentication middleware, authorization one global guard,
errors one ``exception_handlers`` mapping.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import signal
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from gateway.auth.middleware import GatewayAuthenticationMiddleware
from gateway.dependencies import dependencies
from gateway.errors import EXCEPTION_HANDLERS
from gateway.guards import access_guard, record_decision
from gateway.middleware import new_request_id, read_json_body, request_context_middleware
from gateway.observability.runtime import seed_vocabularies
from gateway.pipeline.background import drain_background, run_in_background
from gateway.retention_schedule import start_retention_schedule, stop_retention_schedule
from gateway.routes.admin import admin_routes
from gateway.routes.audit import audit_routes
from gateway.routes.dsr import dsr_routes
from gateway.routes.health import engine_workers, healthz, readyz
from gateway.routes.metrics import metrics_endpoint
from gateway.routes.openai import chat_completions, completions, list_models
from gateway.services import Services, open_services
from gateway.settings import Settings
from policies.errors import PolicyDocumentError

log = structlog.get_logger("gateway.app")

OPENAPI_PERMISSION = "openapi:read"
# How long shutdown waits for background audit writes before cancelling them.
DRAIN_TIMEOUT_S = 10.0


def create_app(settings: Settings, *, simulated_engine: bool = False) -> Litestar:
    """Build the gateway. ``settings.engine.urls`` must name at least one engine (or simulator)."""
    if not settings.engine.urls:
        raise ValueError(
            "create_app needs engine URLs; `gateway serve` starts the simulator when none are set"
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_services(settings, settings.engine.urls) as services:
            app.state.services = services
            app.state.simulated_engine = simulated_engine
            seed_vocabularies(services.observability.metrics, routes=[row[0] for row in route_table(app)])
            _reload_on_sighup(services)
            log.info(
                "gateway.started",
                engine_mode="simulator" if simulated_engine else "sglang",
                engines=len(settings.engine.urls),
                pii=settings.pii.enabled,
                storage=settings.database_url.split(":", 1)[0],
            )
            retention_schedule = start_retention_schedule(services, app.state)
            try:
                yield
            finally:
                log.info("gateway.stopping")
                await stop_retention_schedule(retention_schedule)
                # Records still being written in the background (abandoned streams, reloads) go
                # into the audit log before it closes.
                await drain_background(services, DRAIN_TIMEOUT_S)

    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            engine_workers,
            chat_completions,
            completions,
            list_models,
            *admin_routes,
            *audit_routes,
            *dsr_routes,
            metrics_endpoint,
        ],
        dependencies=dependencies(),
        # Identity first (request.user), then the permission guard on every route.
        middleware=[GatewayAuthenticationMiddleware],
        guards=[access_guard],
        # After the guard: a caller without credentials gets 401 whatever it sends.
        before_request=read_json_body,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        request_max_body_size=settings.server.max_body_bytes,
        openapi_config=openapi_config(),
        debug=False,
    )
    # Litestar's own middleware runs after routing; the request context (request id, duplicated
    # headers, access log) must wrap routing too, so 404 and 405 answers carry the request id.
    app.asgi_handler = request_context_middleware(app.asgi_handler)
    return app


def openapi_config() -> OpenAPIConfig:
    """The API description at ``/schema`` (JSON; also ``/schema/openapi.json``), for callers with
    ``openapi:read`` only: every schema route inherits the router's permission."""
    return OpenAPIConfig(
        title="Compliance gateway",
        version=_package_version(),
        description="OpenAI-compatible chat and completions with PII redaction, access control "
        "and an audit log; admin and audit APIs.",
        render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        openapi_router=Router(
            "/schema",
            route_handlers=[],
            opt={"permission": OPENAPI_PERMISSION},
            include_in_schema=False,
        ),
    )


def _package_version() -> str:
    try:
        return importlib.metadata.version("compliance-gateway")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _reload_on_sighup(services: Services) -> None:
    """SIGHUP reloads the policy documents, like POST /admin/policies/reload (audited the same way)."""
    loop = asyncio.get_running_loop()

    async def reload(request_id: str) -> None:
        old = services.policy.digest
        try:
            bundle = await services.reload_policies()
        except PolicyDocumentError as exc:
            log.error("policy.reload_failed", source=exc.source, key=exc.key, reason=exc.reason)
            await record_decision(
                services,
                request_id,
                None,
                "error",
                "policy.reload",
                {"error": str(exc), "digest": old, "trigger": "SIGHUP"},
            )
            return
        await record_decision(
            services,
            request_id,
            None,
            "allow",
            "policy.reload",
            {"previous_digest": old, "digest": bundle.digest, "trigger": "SIGHUP"},
        )

    def on_signal() -> None:
        request_id = new_request_id()
        run_in_background(services, reload(request_id), request_id=request_id)

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP, on_signal)


def route_table(app: Litestar) -> list[tuple[str, str, Any]]:
    """(path, method, handler) for every route, for the deny-by-default and matrix tests."""
    rows: list[tuple[str, str, Any]] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            for method in sorted(getattr(handler, "http_methods", ()) or ()):
                rows.append((route.path, method, handler))
    return rows
