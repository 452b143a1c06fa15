"""Role-based access control: the policy document model and the pure decision function.

Deny by default. A principal's permissions are the union of the permissions of its *known*
roles (names defined in the policy); role names the policy does not define grant nothing,
and a principal with no known role is refused everything.

Separation of duties is enforced twice: a policy document in which one role could both
control the system (keys, policy, retention, engine) and read audit content or erase
records is rejected at load time, and a principal whose *combined* roles would have that
power (for example an IdP user in both ``admin`` and ``auditor``) is denied every request.

Every decision is an :class:`AuthzDecision`, a plain value the audit log records; it names
the permission, the roles, the model and a stable reason code, never a credential.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args

import msgspec

from policies.documents import Document, NonBlankStr, PositiveInt, decode_document
from policies.errors import PolicyDocumentError, PolicyViolation

Permission = Literal[
    "chat",
    "completions",
    "models:list",
    "pii:unmask",
    "audit:read",
    "audit:read_content",
    "audit:export",
    "audit:verify",
    "dsr:export",
    "dsr:erase",
    "dsr:hold",
    "keys:manage",
    "policy:reload",
    "retention:run",
    "engine:manage",
    "openapi:read",
    "metrics:read",
]
#: Every permission a role may grant (the closed vocabulary of roles.yaml).
PERMISSIONS: frozenset[str] = frozenset(get_args(Permission))

#: Permissions that change how the gateway behaves or who may use it.
CONTROL_PERMISSIONS: frozenset[str] = frozenset(
    {"keys:manage", "policy:reload", "retention:run", "engine:manage"}
)
#: Permissions that would let a controller read what was said or make records disappear.
#: No role (and no principal's combination of roles) may hold one of these together with
#: a control permission: "no single role can both change the rules and hide it".
SOD_RESTRICTED_PERMISSIONS: frozenset[str] = frozenset({"audit:read_content", "dsr:erase"})

DEFAULT_PII_PROFILE = "default"
#: Longest tenant name a credential may carry (the audit log's tenant column holds this many).
MAX_TENANT_LEN = 128

# Stable reason codes of AuthzDecision.reason.
REASON_GRANTED = "granted"
REASON_UNKNOWN_PERMISSION = "unknown_permission"
REASON_NO_KNOWN_ROLE = "no_known_role"
REASON_NOT_GRANTED = "permission_not_granted"
REASON_MODEL_NOT_ALLOWED_FOR_KEY = "model_not_allowed_for_key"
REASON_MODEL_NOT_ALLOWED_FOR_ROLE = "model_not_allowed_for_role"
REASON_TENANT_MISMATCH = "tenant_mismatch"
REASON_SOD_CONFLICT = "separation_of_duties_conflict"

#: Role names: what credentials carry and the audit log records.
RoleName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``id`` is the API key id or the JWT ``sub``; ``roles`` are role names as the credential
    states them (possibly unknown to the policy); ``models`` is the credential's own model
    allow-list (``None`` = no restriction beyond the roles').
    """

    id: str
    roles: tuple[str, ...]
    tenant: str | None
    auth_method: Literal["api_key", "jwt"]
    key_id: str | None = None
    models: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RoleDef:
    """One role of the policy. ``models=None`` allows every model; ``()`` allows none.

    Model entries are exact names or shell-style patterns (``deepseek-*``).
    ``requests_per_minute`` / ``tokens_per_day`` apply to each credential holding the role;
    ``role_requests_per_minute`` / ``role_tokens_per_day`` to all of the role's callers together.
    ``grantable_roles`` are the roles a holder of ``keys:manage`` may put on new API keys.
    """

    name: str
    permissions: frozenset[str]
    models: tuple[str, ...] | None = None
    require_subject: bool = False
    pii_profile: str = DEFAULT_PII_PROFILE
    requests_per_minute: int | None = None
    tokens_per_day: int | None = None
    role_requests_per_minute: int | None = None
    role_tokens_per_day: int | None = None
    grantable_roles: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class RBACPolicy:
    """All roles of a site, in document order (the order breaks ties, see helpers)."""

    roles: Mapping[str, RoleDef]

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", MappingProxyType(dict(self.roles)))

    def known_roles(self, principal: Principal) -> tuple[RoleDef, ...]:
        """The principal's roles that this policy defines, in document order."""
        claimed = set(principal.roles)
        return tuple(role for name, role in self.roles.items() if name in claimed)


@dataclass(frozen=True)
class AuthzDecision:
    """The outcome of one authorization check, as recorded by the audit log.

    ``roles`` are the roles that granted the permission when allowed, otherwise the roles
    the principal presented. ``reason`` is one of the ``REASON_*`` codes.
    """

    allowed: bool
    permission: str
    roles: tuple[str, ...]
    reason: str
    model: str | None = None
    principal_id: str | None = None
    auth_method: str | None = None

    def audit_fields(self) -> dict[str, object]:
        """The decision as a flat JSON-ready mapping for an audit record."""
        return {
            "allowed": self.allowed,
            "permission": self.permission,
            "roles": list(self.roles),
            "reason": self.reason,
            "model": self.model,
            "principal_id": self.principal_id,
            "auth_method": self.auth_method,
        }


@dataclass(frozen=True)
class RateLimits:
    """Limits that apply to one principal (``None`` = unlimited)."""

    requests_per_minute: int | None
    tokens_per_day: int | None


# --------------------------------------------------------------------------- the document


class RoleDocument(Document, frozen=True, kw_only=True):
    """One role as roles.yaml states it (see the comments in ``policies/defaults/roles.yaml``)."""

    permissions: tuple[Permission, ...]
    description: str = ""
    models: tuple[NonBlankStr, ...] | None = None
    require_subject: bool = False
    pii_profile: NonBlankStr = DEFAULT_PII_PROFILE
    requests_per_minute: PositiveInt | None = None
    tokens_per_day: PositiveInt | None = None
    role_requests_per_minute: PositiveInt | None = None
    role_tokens_per_day: PositiveInt | None = None
    grantable_roles: tuple[NonBlankStr, ...] = ()


class RolesDocument(Document, frozen=True, kw_only=True):
    """The whole roles.yaml document."""

    version: Literal[1] = 1
    roles: Annotated[dict[RoleName, RoleDocument], msgspec.Meta(min_length=1)]


def parse_rbac_policy(doc: Mapping[str, Any], source: str) -> RBACPolicy:
    """Validate a ``roles.yaml`` document (already YAML-decoded) and build the policy.

    Raises :class:`PolicyDocumentError` naming the dotted key of the first problem:
    unknown fields, unknown permissions, bad types, limits that are not positive integers,
    ``grantable_roles`` naming undefined roles, or a role that breaks separation of duties.
    """
    document = decode_document(doc, RolesDocument, source)
    for name, role in document.roles.items():
        conflict = sod_conflicts(role.permissions)
        if conflict:
            raise PolicyDocumentError(
                source,
                f"roles.{name}.permissions",
                "separation of duties: a role with control permissions may not also hold "
                + ", ".join(conflict),
            )
        for i, granted in enumerate(role.grantable_roles):
            if granted not in document.roles:
                raise PolicyDocumentError(
                    source, f"roles.{name}.grantable_roles[{i}]", "names an undefined role"
                )
    return RBACPolicy({name: _role_def(name, role) for name, role in document.roles.items()})


def _role_def(name: str, role: RoleDocument) -> RoleDef:
    return RoleDef(
        name=name,
        permissions=frozenset(role.permissions),
        models=role.models,
        require_subject=role.require_subject,
        pii_profile=role.pii_profile,
        requests_per_minute=role.requests_per_minute,
        tokens_per_day=role.tokens_per_day,
        role_requests_per_minute=role.role_requests_per_minute,
        role_tokens_per_day=role.role_tokens_per_day,
        grantable_roles=role.grantable_roles,
        description=role.description,
    )


# --------------------------------------------------------------------------- decisions


def sod_conflicts(permissions: Iterable[str]) -> list[str]:
    """Restricted permissions held together with a control permission (empty = no conflict)."""
    perms = set(permissions)
    if not perms & CONTROL_PERMISSIONS:
        return []
    return sorted(perms & SOD_RESTRICTED_PERMISSIONS)


def model_allowed(patterns: tuple[str, ...] | None, model: str) -> bool:
    """Whether ``model`` matches an allow-list (``None`` = everything allowed)."""
    if patterns is None:
        return True
    return any(fnmatchcase(model, pattern) for pattern in patterns)


class _NoResource:
    """The request names no stored object (chat, model listing): no tenant check applies."""

    def __repr__(self) -> str:
        return "NO_RESOURCE"


NO_RESOURCE = _NoResource()


def tenant_may_access(caller_tenant: str | None, object_tenant: str | None) -> bool:
    """The one tenant rule, for every route that reads or changes a stored object.

    A credential bound to a tenant reaches only that tenant's objects; objects with no tenant
    (global keys, records of global callers, the policy) belong to credentials with no tenant
    binding, which reach every object.
    """
    return caller_tenant is None or caller_tenant == object_tenant


def authorize(
    policy: RBACPolicy,
    principal: Principal,
    permission: str,
    model: str | None = None,
    *,
    resource_tenant: str | _NoResource | None = NO_RESOURCE,
) -> AuthzDecision:
    """Decide whether ``principal`` may use ``permission`` (on ``model``, if given).

    Deny unless one of the principal's known roles grants the permission and, when a model
    is named, both the credential's own model list and that role's model list allow it.
    ``resource_tenant``: the tenant owning the target object (``None`` = an object with no
    tenant); access follows :func:`tenant_may_access`. Leave it out when there is no object.
    """

    def decide(allowed: bool, reason: str, roles: tuple[str, ...] = principal.roles) -> AuthzDecision:
        return AuthzDecision(allowed, permission, roles, reason, model, principal.id, principal.auth_method)

    if permission not in PERMISSIONS:
        return decide(False, REASON_UNKNOWN_PERMISSION)
    known = policy.known_roles(principal)
    if not known:
        return decide(False, REASON_NO_KNOWN_ROLE)
    if sod_conflicts(p for role in known for p in role.permissions):
        return decide(False, REASON_SOD_CONFLICT)
    granting = granting_roles(policy, principal, permission)
    if not granting:
        return decide(False, REASON_NOT_GRANTED)
    if not isinstance(resource_tenant, _NoResource) and not tenant_may_access(
        principal.tenant, resource_tenant
    ):
        return decide(False, REASON_TENANT_MISMATCH)
    if model is not None:
        if not model_allowed(principal.models, model):
            return decide(False, REASON_MODEL_NOT_ALLOWED_FOR_KEY)
        granting = [role for role in granting if model_allowed(role.models, model)]
        if not granting:
            return decide(False, REASON_MODEL_NOT_ALLOWED_FOR_ROLE)
    return decide(True, REASON_GRANTED, tuple(role.name for role in granting))


def has_permission(policy: RBACPolicy, principal: Principal, permission: str) -> bool:
    """Shorthand for ``authorize(...).allowed`` without a model."""
    return authorize(policy, principal, permission).allowed


def granting_roles(policy: RBACPolicy, principal: Principal, permission: str) -> list[RoleDef]:
    """The principal's known roles that grant ``permission``, in policy document order.

    Empty when no role grants it. Models and tenants are not considered: this is the set
    whose per-role settings (subject requirement, PII profile, rate limits) apply.
    """
    return [role for role in policy.known_roles(principal) if permission in role.permissions]


def requires_subject(policy: RBACPolicy, principal: Principal, permission: str = "chat") -> bool:
    """Whether the caller must send ``X-Data-Subject`` for ``permission``.

    True if any of the principal's roles granting the permission requires it: a clinician
    who also holds a service role still has to name the patient.
    """
    return any(role.require_subject for role in granting_roles(policy, principal, permission))


def effective_pii_profile(policy: RBACPolicy, principal: Principal, permission: str = "chat") -> str:
    """The PII profile for the principal's request.

    Taken from the first role, in policy document order, that grants ``permission``; sites
    list their stricter roles first. ``DEFAULT_PII_PROFILE`` when no role grants it.
    """
    roles = granting_roles(policy, principal, permission)
    return roles[0].pii_profile if roles else DEFAULT_PII_PROFILE


def may_unmask(policy: RBACPolicy, principal: Principal) -> bool:
    """Whether pseudonyms may be restored in answers to this principal."""
    return has_permission(policy, principal, "pii:unmask")


def effective_rate_limits(policy: RBACPolicy, principal: Principal, permission: str = "chat") -> RateLimits:
    """Per-principal limits: the most generous among the roles granting ``permission``.

    Permissions are a union over roles, so limits are too (``None`` = unlimited wins).
    A principal with no granting role gets ``RateLimits(None, None)``; it is
    refused by :func:`authorize` before limits matter.
    """
    roles = granting_roles(policy, principal, permission)

    def most_generous(values: list[int | None]) -> int | None:
        if not values or any(v is None for v in values):
            return None
        return max(v for v in values if v is not None)

    if not roles:
        return RateLimits(None, None)
    return RateLimits(
        most_generous([r.requests_per_minute for r in roles]),
        most_generous([r.tokens_per_day for r in roles]),
    )


def validate_role_assignment(
    policy: RBACPolicy, roles: Iterable[str], *, granted_by: Principal | None = None
) -> tuple[str, ...]:
    """Check the roles for a new API key; return them de-duplicated in the given order.

    Refuses (``PolicyViolation``) an empty list, a role the policy does not define, a
    combination that breaks separation of duties, and, when ``granted_by`` is given (an
    HTTP caller with ``keys:manage``), any role outside that caller's ``grantable_roles``.
    Operators on the host (CLI, no ``granted_by``) may assign any defined role.
    """
    wanted = tuple(dict.fromkeys(roles))
    if not wanted:
        raise PolicyViolation("an API key needs at least one role", "no_roles")
    unknown = [r for r in wanted if r not in policy.roles]
    if unknown:
        raise PolicyViolation("unknown role", "unknown_role", {"roles": unknown})
    conflict = sod_conflicts(p for r in wanted for p in policy.roles[r].permissions)
    if conflict:
        raise PolicyViolation(
            "role combination breaks separation of duties", REASON_SOD_CONFLICT, {"permissions": conflict}
        )
    if granted_by is not None:
        allowed: set[str] = set()
        for role in policy.known_roles(granted_by):
            if "keys:manage" in role.permissions:
                allowed.update(role.grantable_roles)
        refused = [r for r in wanted if r not in allowed]
        if refused:
            raise PolicyViolation(
                "caller may not grant these roles", "role_not_grantable", {"roles": refused}
            )
    return wanted
