"""The application factory: ``create_app(settings)`` builds one Litestar app with its services."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar import Litestar

from gateway.errors import exception_handler
from gateway.guards import access_guard, record_decision
from gateway.middleware import new_request_id, read_json_body
from gateway.routes.admin import admin_routes
from gateway.routes.audit import audit_routes
from gateway.routes.health import healthz, readyz
from gateway.routes.openai import chat_completions, completions, list_models
from gateway.services import Services, open_services
from gateway.settings import Settings
from policies.errors import PolicyDocumentError

log = structlog.get_logger("gateway.app")


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
            _reload_on_sighup(services)
            log.info(
                "gateway.started",
                engine_mode="simulator" if simulated_engine else "sglang",
                engines=len(settings.engine.urls),
                pii=settings.pii.enabled,
                storage=settings.database_url.split(":", 1)[0],
            )
            yield
            log.info("gateway.stopping")

    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            chat_completions,
            completions,
            list_models,
            *admin_routes,
            *audit_routes,
        ],
        guards=[access_guard],
        # After the guard: a caller without credentials gets 401 whatever it sends.
        before_request=read_json_body,
        exception_handlers={Exception: exception_handler},
        lifespan=[lifespan],
        request_max_body_size=settings.server.max_body_bytes,
        # No schema routes: every route must declare a permission, and docs live in docs/.
        openapi_config=None,
        debug=False,
    )


def _reload_on_sighup(services: Services) -> None:
    """SIGHUP reloads the policy documents, like POST /admin/policies/reload (audited the same way)."""
    loop = asyncio.get_running_loop()

    async def reload() -> None:
        old = services.policy.digest
        try:
            bundle = await services.reload_policies()
        except PolicyDocumentError as exc:
            log.error("policy.reload_failed", source=exc.source, key=exc.key, reason=exc.reason)
            await record_decision(
                services,
                new_request_id(),
                None,
                "error",
                "policy.reload",
                {"error": str(exc), "digest": old, "trigger": "SIGHUP"},
            )
            return
        await record_decision(
            services,
            new_request_id(),
            None,
            "allow",
            "policy.reload",
            {"previous_digest": old, "digest": bundle.digest, "trigger": "SIGHUP"},
        )

    def on_signal() -> None:
        task = loop.create_task(reload())
        services.background.add(task)
        task.add_done_callback(services.background.discard)

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
