"""What handlers get injected (Litestar ``Provide``), by name: ``services``, ``principal``, ``policy``.

Declare them with the aliases below (``services: ServicesDep``): a plain ``services: Services``
works too, but Litestar then validates the object on every request (and warns).

The providers form a chain (``services`` <- ``principal`` <- ``policy``): Litestar resolves
dependencies that do not depend on each other concurrently, with an anyio task group and one task
per provider on every request, which cost about 6-7% of the event loop's time under load (py-spy,
issue 20); a chain is resolved one after another with plain awaits.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from gateway.guards import policy_of, principal_of
from gateway.services import Services
from policies.bundle import PolicyBundle
from policies.rbac import Principal

# Marked dependencies (nothing a client sends can fill them) that the signature model passes on
# as they are: validating them would walk large objects on every request.
ServicesDep = NamedDependency[SkipValidation[Services]]
"""The process's long-lived objects (name the parameter ``services``)."""
PrincipalDep = NamedDependency[SkipValidation[Principal]]
"""The authenticated caller (name the parameter ``principal``)."""
PolicyDep = NamedDependency[SkipValidation[PolicyBundle]]
"""The policy snapshot the permission guard took for this request (name it ``policy``)."""


def provide_services(state: State) -> Services:
    """Dependency ``services``: built in the app's lifespan."""
    services: Services = state.services
    return services


def provide_principal(request: Request[Any, Any, Any], services: ServicesDep) -> Principal:
    """Dependency ``principal``: ``request.user``, set by the authentication middleware.

    (``services`` only orders it after ``services``: see the module doc.)
    """
    return principal_of(request)


def provide_policy(request: Request[Any, Any, Any], principal: PrincipalDep) -> PolicyBundle:
    """Dependency ``policy``: the guard's snapshot, so one request sees one policy.

    (``principal`` orders it after ``principal``, which refuses a request without a caller: see
    the module doc.)
    """
    return policy_of(request)


def dependencies() -> dict[str, Provide]:
    """The app-level dependency map."""
    return {
        "services": Provide(provide_services, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
        "policy": Provide(provide_policy, sync_to_thread=False),
    }
