"""What the pipeline reports about a request: PII detection (its own time apart from the wait for
a detection thread, the outcome, entity counts by type), filter actions by rule, token timing.

Counts, durations and names the gateway knows only (entity types, rule ids, the served model):
never text. Each function takes the request's observation (a disabled one records nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from gateway.observability.request import RequestObservation, Step
from policies.errors import DetectionUnavailable, PolicyError
from policies.pii.redact_body import RedactResult, run_in_pool

if TYPE_CHECKING:
    from gateway.observability.metrics import DetectionOutcome, Direction
    from gateway.pipeline.context import Route
    from policies.pii.offload import DetectionPool

T = TypeVar("T")

#: The rule label of injection screening (the indicator ids are the policy's, not on the vocabulary).
INJECTION_RULE = "injection"
# Answer-side filter decisions that are PII findings: counted as entities, by type.
_PII_ACTION = "pii_redact"


class Decision(Protocol):
    """One output-filter decision: rule id, action, count."""

    @property
    def rule_id(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def count(self) -> int: ...


def count_injection_findings(observation: RequestObservation, actions: Iterable[str]) -> None:
    """Injection screening's findings (flag or block), as filter actions of the ``injection`` rule."""
    if observation.metrics is None:
        return
    counts: dict[str, int] = {}
    for action in actions:
        counts[action] = counts.get(action, 0) + 1
    observation.metrics.count_filter_actions((INJECTION_RULE, action, n) for action, n in counts.items())


async def detect_request_pii(
    pool: DetectionPool,
    work: Callable[[], RedactResult],
    *,
    owner: Hashable,
    observation: RequestObservation,
    size: int | None = None,
) -> RedactResult:
    """``work`` (request redaction) in the detection pool, fail closed: any failure other than a
    policy refusal is DetectionUnavailable. Observed as the step ``gateway.pii.detect``: the wait
    for a thread and the detection itself apart, and the outcome (ok, timeout, queue_timeout,
    cancelled, error); a refusal by the PII policy counts as a completed detection."""
    clock = observation.clock
    began: list[float] = []
    failed: list[bool] = []

    def timed() -> RedactResult:
        began.append(clock())  # on the pool thread: the wait for it is over
        try:
            return work()
        except PolicyError:
            raise
        except Exception:
            failed.append(True)
            raise

    outcome: DetectionOutcome = "error"
    with observation.step("gateway.pii.detect", timing="pii") as step:
        try:
            result = await run_in_pool(timed, pool, owner, size=size)
            outcome = "ok"
        except PolicyError:
            outcome = "ok"
            raise
        except DetectionUnavailable:
            outcome = "error" if failed else "timeout" if began else "queue_timeout"
            raise
        except BaseException:
            outcome = "cancelled"  # the caller went away
            raise
        finally:
            _observe_detection(observation, step, began, outcome)
        counts = result[2].entity_counts
        if counts:
            count_entities(observation, step, counts, direction="request")
    return result


def _observe_detection(
    observation: RequestObservation, step: Step, began: Sequence[float], outcome: DetectionOutcome
) -> None:
    now = observation.clock()
    detect_s = now - began[0] if began else 0.0
    step.set("gateway.pii.outcome", outcome)
    if began:
        step.set("gateway.pii.queue_wait_s", max(began[0] - step.started, 0.0))
        step.set("gateway.pii.detect_s", max(detect_s, 0.0))
    if observation.metrics is not None:
        observation.metrics.observe_pii_detection(
            direction="request", duration_s=max(detect_s, 0.0), outcome=outcome
        )


def count_entities(
    observation: RequestObservation, step: Step | None, counts: Mapping[str, int], *, direction: Direction
) -> None:
    """Entities found, by type: the PII metric, and ``gateway.pii.entities.<TYPE>`` on ``step``."""
    if observation.metrics is not None:
        observation.metrics.count_pii_entities(counts, direction=direction)
    if step is not None and step.span is not None:
        step.set("gateway.pii.entities_total", sum(counts.values()))
        for entity_type, count in counts.items():
            step.set(f"gateway.pii.entities.{entity_type}", count)


def count_answer_decisions(
    observation: RequestObservation, step: Step | None, decisions: Sequence[Decision]
) -> None:
    """An answer's filter decisions: PII findings as entities (answer side), the rest as filter
    actions by rule; totals on ``step``."""
    if not decisions:
        return
    entities: dict[str, int] = {}
    actions: list[tuple[str, str, int]] = []
    for decision in decisions:
        if decision.action == _PII_ACTION:
            entities[decision.rule_id] = entities.get(decision.rule_id, 0) + decision.count
        else:
            actions.append((decision.rule_id, decision.action, decision.count))
    if entities:
        count_entities(observation, step, entities, direction="answer")
    if observation.metrics is not None and actions:
        observation.metrics.count_filter_actions(actions)
    if step is not None:
        step.set("gateway.filter.actions", sum(n for _rule, _action, n in actions))


def observe_detection_of_answer(
    observation: RequestObservation, duration_s: float, error: BaseException | None
) -> None:
    """Answer-side detection (a whole answer, or a stream's steps together): time or failure."""
    if observation.metrics is None:
        return
    outcome: DetectionOutcome = "ok"
    if error is not None:
        outcome = "timeout" if isinstance(error, DetectionUnavailable) else "error"
    observation.metrics.observe_pii_detection(direction="answer", duration_s=duration_s, outcome=outcome)


def usage_tokens(usage: Mapping[str, Any] | None) -> tuple[int, int]:
    """``(prompt_tokens, completion_tokens)`` of an engine's usage object (0 where absent)."""
    usage = usage or {}
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (
        prompt if isinstance(prompt, int) and prompt >= 0 else 0,
        completion if isinstance(completion, int) and completion >= 0 else 0,
    )


def observe_usage(
    observation: RequestObservation,
    step: Step,
    usage: Mapping[str, Any] | None,
    *,
    first_token_s: float | None = None,
    generation_s: float | None = None,
) -> None:
    """Token counts (``gen_ai.usage.*`` on the upstream step) and token timing metrics."""
    input_tokens, output_tokens = usage_tokens(usage)
    if usage:
        step.set("gen_ai.usage.input_tokens", input_tokens)
        step.set("gen_ai.usage.output_tokens", output_tokens)
    if observation.metrics is not None:
        observation.metrics.observe_generation(
            model=observation.model,
            time_to_first_token_s=first_token_s,
            generation_s=generation_s,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )


def genai_request_attributes(route: Route, served_model: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The GenAI semantic-convention attributes of the engine call: operation, provider, the
    served model and the sampling parameters the body sets (numbers only; never content)."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat" if route.kind == "chat" else "text_completion",
        "gen_ai.provider.name": "sglang",
        "gen_ai.request.model": served_model,
    }
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            attributes["gen_ai.request.max_tokens"] = value
    for key in ("temperature", "top_p"):
        value = body.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[f"gen_ai.request.{key}"] = value
    return attributes


def genai_response_attributes(answer: Mapping[str, Any]) -> dict[str, Any]:
    """``gen_ai.response.model`` and ``gen_ai.response.finish_reasons`` of an answer (the trace's
    allow-list keeps only model names and finish reasons of the expected shape)."""
    attributes: dict[str, Any] = {}
    model = answer.get("model")
    if isinstance(model, str):
        attributes["gen_ai.response.model"] = model
    reasons = [
        choice["finish_reason"]
        for choice in answer.get("choices") or ()
        if isinstance(choice, dict) and isinstance(choice.get("finish_reason"), str)
    ]
    if reasons:
        attributes["gen_ai.response.finish_reasons"] = reasons
    return attributes


def server_attributes(url: str) -> dict[str, Any]:
    """``server.address`` and ``server.port`` of an engine URL (never its credentials or path)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return {}
    return {"server.address": host, "server.port": port} if host else {}
