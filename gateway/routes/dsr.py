"""Data-subject requests and retention runs over HTTP: thin handlers over the audit package.

Export, erasure, finding a value and legal holds belong to the ``dpo`` role (``dsr:export``,
``dsr:erase``, ``dsr:hold``), retention runs to ``admin`` (``retention:run``). A tenant-bound
caller reaches only its tenant's subjects, records and holds (:func:`require_tenant_access`, and
inside the erasure's locked transaction ``tenant_only``); a retention run spans every tenant, so
only a caller with no tenant binding may start one. Every call writes an audit record
(``dsr.export``, ``dsr.erase``, ``dsr.find``, ``dsr.hold``, ``retention.run``) with ids and counts,
never a subject id or a searched value; the value to find travels in a POST body, never in a
query string, which ends up in access logs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from litestar import Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation

from audit.dsr_common import Actor, record_operation
from audit.dsr_errors import UnderLegalHold
from audit.holds import create_hold, get_hold, list_holds, release_hold
from audit.retention import run_retention
from audit.subject_erase import (
    ERASE_KIND,
    ErasureReceipt,
    erase_records,
    erase_subject,
    seq_tenants,
    subject_tenants,
)
from audit.subject_export import export_subject
from audit.subject_find import find_value
from gateway.audit_events import role_column
from gateway.dependencies import PolicyDep, PrincipalDep, ServicesDep
from gateway.dsr_schemas import (
    FindOut,
    FindRequest,
    HoldCreate,
    HoldList,
    HoldOut,
    RecordsErase,
    RetentionRunOut,
    RetentionRunRequest,
    SubjectExportOut,
    hold_out,
    retention_out,
)
from gateway.errors import InvalidRequest
from gateway.guards import request_id_of, require_tenant_access
from policies.pii.normalize import canonical_value
from policies.pii.pseudonymize import restore_tokens
from policies.rbac import Principal, tenant_may_access

Clock = Callable[[], datetime]
ClockDep = NamedDependency[SkipValidation[Clock]]
"""The time source of these routes (name the parameter ``clock``)."""

EXPORT = {"permission": "dsr:export"}
ERASE = {"permission": "dsr:erase"}
HOLD = {"permission": "dsr:hold"}
ZIP = "application/zip"


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def provide_clock(state: State) -> Clock:
    """Dependency ``clock``: ``app.state.clock`` when one was set (tests), else the system clock."""
    clock: Clock | None = state.get("clock")
    return clock if clock is not None else utc_now


CLOCK = {"clock": Provide(provide_clock, sync_to_thread=False)}


def _actor(request: Request[Any, Any, Any], principal: Principal) -> Actor:
    return Actor(principal.id, role_column(principal), principal.tenant, request_id_of(request))


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"'{name}' must be an ISO 8601 time.", param=name) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _require_tenants(
    request: Request[Any, Any, Any], permission: str, tenants: set[str | None]
) -> None:
    """Refuse (403, audited) unless the caller may reach every one of ``tenants``."""
    for tenant in sorted(tenants, key=lambda t: (t is not None, t or "")):
        await require_tenant_access(request, permission, tenant)


# ----------------------------------------------------------------------------- retention


@post(
    "/admin/retention/run",
    opt={"permission": "retention:run"},
    dependencies=CLOCK,
    status_code=200,
    summary="Run retention now (or report what it would remove)",
)
async def run_retention_now(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    policy: PolicyDep,
    clock: ClockDep,
    data: JSONBody[RetentionRunRequest | None] = None,
) -> RetentionRunOut:
    """Remove the content of every record past its kind's maximum age that no hold covers, in
    batches (or, with ``dry_run``, report it); recorded as ``retention.run``. The run spans every
    tenant: a tenant-bound caller is refused."""
    await require_tenant_access(request, "retention:run", None)
    spec = data if data is not None else RetentionRunRequest()
    report = await run_retention(
        services.audit,
        policy.retention,
        clock(),
        dry_run=spec.dry_run,
        batch_size=spec.batch_size,
        actor=_actor(request, principal),
    )
    return retention_out(report)


# ----------------------------------------------------------------------------- export and find


def _wants_zip(request: Request[Any, Any, Any], fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "zip"
    accept = request.headers.get("accept", "")
    return any(part.split(";", 1)[0].strip().lower() == ZIP for part in accept.split(","))


@get(
    "/dsr/subjects/{subject_id:str}/export",
    opt=EXPORT,
    dependencies=CLOCK,
    summary="Export every record of a data subject, decrypted and signed",
)
async def export_subject_records(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    clock: ClockDep,
    subject_id: FromPath[str],
    fmt: Annotated[Literal["json", "zip"] | None, QueryParameter(name="format")] = None,
) -> Response[Any]:
    """JSON (records and the signed manifest) by default; the zip (records.json, records.csv,
    signed manifest.json, as ``gateway dsr export`` writes it) with ``?format=zip`` or
    ``Accept: application/zip``. An unknown subject gets an empty, signed export."""
    if principal.tenant is not None:
        await _require_tenants(request, "dsr:export", await subject_tenants(services.audit, subject_id))
    export = await export_subject(
        services.audit, subject_id, clock(), _actor(request, principal), restore=restore_tokens
    )
    if principal.tenant is not None:
        # Records of another tenant appended while the export was built: refused, not handed out.
        await _require_tenants(request, "dsr:export", await subject_tenants(services.audit, subject_id))
    if _wants_zip(request, fmt):
        name = f"dsr-export-{request_id_of(request)}.zip"
        return Response(
            content=export.to_zip(),
            media_type=ZIP,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    records = json.loads(export.files["records.json"])
    body = SubjectExportOut(
        subject_ref=str(records["subject_ref"]), records=list(records["records"]), manifest=export.manifest
    )
    return Response(content=body, media_type="application/json")


@post("/dsr/find", opt=EXPORT, status_code=200, summary="Find the records that hold a value")
async def find_records(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    data: JSONBody[FindRequest],
) -> FindOut:
    """The seqs of the records whose decrypted content holds ``value`` (personal data: it is never
    logged, recorded or echoed). It reads and decrypts everything since ``since``. A tenant-bound
    caller gets its tenant's records only. Recorded as ``dsr.find`` with counts."""
    since = _time(data.since, "since")
    result = await find_value(services.audit, data.value, since, canonical=canonical_value)
    seqs = list(result.seqs)
    caller = principal.tenant
    if caller is not None and seqs:
        tenants = await seq_tenants(services.audit, seqs)
        seqs = [seq for seq in seqs if tenant_may_access(caller, tenants.get(seq))]
    counts = {"found": len(seqs), "scanned": result.scanned, "since": data.since}
    await record_operation(services.audit, "dsr.find", _actor(request, principal), counts)
    return FindOut(seqs=seqs, found=len(seqs), scanned=result.scanned, unreadable=result.unreadable)


# ----------------------------------------------------------------------------- erasure


async def _refusal_recorded(
    request: Request[Any, Any, Any], services: ServicesDep, principal: Principal, exc: UnderLegalHold
) -> None:
    await record_operation(
        services.audit,
        ERASE_KIND,
        _actor(request, principal),
        {"refused": "under_legal_hold", "hold_id": exc.hold_id},
        decision="deny",
    )


@delete(
    "/dsr/subjects/{subject_id:str}",
    opt=ERASE,
    dependencies=CLOCK,
    status_code=200,
    summary="Erase a data subject (crypto-shredding); answers a signed receipt",
)
async def erase_subject_records(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    clock: ClockDep,
    subject_id: FromPath[str],
) -> dict[str, Any]:
    """Destroy the subject's data key and clear its records' content, leaving tombstones; the
    answer is the signed receipt. 409 with the hold's id when a legal hold covers the subject."""
    if principal.tenant is not None:
        await _require_tenants(request, "dsr:erase", await subject_tenants(services.audit, subject_id))
    try:
        receipt = await erase_subject(
            services.audit, subject_id, clock(), _actor(request, principal), tenant_only=principal.tenant
        )
    except UnderLegalHold as exc:
        await _refusal_recorded(request, services, principal, exc)
        raise
    return _receipt(receipt)


def _receipt(receipt: ErasureReceipt) -> dict[str, Any]:
    return dict(receipt.document)


@post(
    "/dsr/records/erase",
    opt=ERASE,
    dependencies=CLOCK,
    status_code=200,
    summary="Clear the content of records by seq; answers a signed receipt",
)
async def erase_records_by_seq(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    clock: ClockDep,
    data: JSONBody[RecordsErase],
) -> dict[str, Any]:
    """Clear the records ``seqs`` (as ``POST /dsr/find`` lists them) with one ``dsr.erase``
    erasure record. 409 with the hold's id when a legal hold covers any of them."""
    if principal.tenant is not None:
        tenants = await seq_tenants(services.audit, data.seqs)
        await _require_tenants(request, "dsr:erase", set(tenants.values()))
    try:
        receipt = await erase_records(
            services.audit, data.seqs, clock(), _actor(request, principal), tenant_only=principal.tenant
        )
    except UnderLegalHold as exc:
        await _refusal_recorded(request, services, principal, exc)
        raise
    return _receipt(receipt)


# ----------------------------------------------------------------------------- legal holds


@post("/dsr/holds", opt=HOLD, dependencies=CLOCK, status_code=201, summary="Place a legal hold")
async def place_hold(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    clock: ClockDep,
    data: JSONBody[HoldCreate],
) -> HoldOut:
    """Hold a subject's records, a time range [since, until), or both (optionally one tenant's
    records only; a tenant-bound caller's holds are always its tenant's)."""
    tenant = data.tenant if data.tenant is not None else principal.tenant
    await require_tenant_access(request, "dsr:hold", tenant)
    hold = await create_hold(
        services.audit,
        clock(),
        _actor(request, principal),
        subject_id=data.subject_id,
        since=_time(data.since, "since"),
        until=_time(data.until, "until"),
        tenant=tenant,
    )
    return hold_out(hold)


@get("/dsr/holds", opt=HOLD, summary="List legal holds")
async def list_legal_holds(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    include_released: Annotated[bool, QueryParameter()] = False,
) -> HoldList:
    """Active holds (with ``include_released``, released ones too), oldest first; a tenant-bound
    caller sees its tenant's holds only."""
    holds = await list_holds(services.audit, include_released=include_released, tenant=principal.tenant)
    visible = [h for h in holds if tenant_may_access(principal.tenant, h.tenant)]
    await record_operation(
        services.audit,
        "dsr.hold",
        _actor(request, principal),
        {"action": "list", "include_released": include_released, "count": len(visible)},
    )
    return HoldList(data=[hold_out(h) for h in visible])


@delete(
    "/dsr/holds/{hold_id:str}", opt=HOLD, dependencies=CLOCK, status_code=200, summary="Release a legal hold"
)
async def release_legal_hold(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    clock: ClockDep,
    hold_id: FromPath[str],
) -> HoldOut:
    """Release an active hold (404 when no active hold has this id)."""
    hold = await get_hold(services.audit, hold_id)
    await require_tenant_access(request, "dsr:hold", hold.tenant)
    return hold_out(await release_hold(services.audit, hold_id, clock(), _actor(request, principal)))


dsr_routes = [
    run_retention_now,
    export_subject_records,
    find_records,
    erase_subject_records,
    erase_records_by_seq,
    place_hold,
    list_legal_holds,
    release_legal_hold,
]
