"""One request's immutable context: who asks, on which route, under which policy, with what rights.

The context is built once, when a request enters the pipeline, from the policy snapshot the
permission guard authorized against and the PII detector as it was at that moment. Every later
step (limits, screening, redaction, the output filter, the audit records, the token charge) reads
the context, never ``services.policy`` or ``services.detector``: a policy reload in the middle of
a request (a long stream, say) leaves that request entirely on the policy it started with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.auth.ratelimit import LimitPlan, plan_limits
from policies.bundle import PolicyBundle
from policies.output.config import CompiledRules, compile_rules_for_role
from policies.pii.redact_body import PseudonymMap, RedactionReport
from policies.rbac import (
    AuthzDecision,
    Principal,
    authorize,
    effective_pii_profile,
    has_permission,
    requires_subject,
)

if TYPE_CHECKING:  # spaCy and Presidio load only where detection runs
    from policies.pii.analyzer import PIIDetector


@dataclass(frozen=True)
class Route:
    """What differs between chat and completions."""

    kind: str  # audit kind prefix: "chat" or "completions"
    permission: str
    path: str
    chunk_object: str


CHAT = Route("chat", "chat", "/v1/chat/completions", "chat.completion.chunk")
COMPLETIONS = Route("completions", "completions", "/v1/completions", "text_completion")


@dataclass(frozen=True)
class RequestAuthorization:
    """Everything the policy says about one request, decided once.

    ``decision`` is the model-specific decision (``authorize`` with the name the caller used);
    the rest is what the caller's granting roles imply for this route.
    """

    decision: AuthzDecision
    model: str  # as the caller named it (a served model or a site alias)
    served_model: str  # the engine's name for it
    subject_required: bool
    limits: LimitPlan
    pii_profile: Any  # policies.pii.config.PIIProfile
    output_rules: CompiledRules
    may_unmask: bool

    @property
    def allowed(self) -> bool:
        return self.decision.allowed


def authorize_request(
    policy: PolicyBundle, principal: Principal, route: Route, model: str, served_model: str
) -> RequestAuthorization:
    """Decide the model and derive every per-request right from one policy snapshot (pure)."""
    rbac = policy.rbac
    permission = route.permission
    return RequestAuthorization(
        decision=authorize(rbac, principal, permission, model),
        model=model,
        served_model=served_model,
        subject_required=requires_subject(rbac, principal, permission),
        limits=plan_limits(rbac, principal, permission),
        pii_profile=policy.pii.profiles[effective_pii_profile(rbac, principal, permission)],
        output_rules=compile_rules_for_role(policy.output, principal.roles),
        may_unmask=has_permission(rbac, principal, "pii:unmask"),
    )


@dataclass(frozen=True)
class RequestContext:
    """One request as the pipeline sees it, immutable from admission to the last audit record."""

    route: Route
    principal: Principal
    request_id: str
    policy: PolicyBundle
    detector: PIIDetector | None
    authz: RequestAuthorization
    subject_id: str | None
    stream: bool
    started: float = field(default_factory=time.perf_counter)

    @property
    def model(self) -> str:
        return self.authz.model

    @property
    def served_model(self) -> str:
        return self.authz.served_model

    def __repr__(self) -> str:
        return f"RequestContext(route={self.route.kind}, request_id={self.request_id})"


@dataclass(frozen=True)
class Exchange:
    """An admitted request: its context, the body as the caller sent it, the body the engine gets
    (redacted, served model name), and what admission found. Holds content: never log it."""

    context: RequestContext
    body: dict[str, Any]
    forwarded: dict[str, Any]
    pseudonyms: PseudonymMap | None = None
    report: RedactionReport | None = None
    injection_flags: tuple[str, ...] = ()

    @property
    def issued_tokens(self) -> dict[str, str]:
        """This request's pseudonyms (token -> original value); empty when nothing was replaced."""
        return self.pseudonyms.token_to_value if self.pseudonyms is not None else {}

    def __repr__(self) -> str:
        return f"Exchange(route={self.context.route.kind}, request_id={self.context.request_id})"
