"""Auditor review API. Every read, verification and export is itself an audit record."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from audit.store import RecordFilter
from gateway.dependencies import PolicyDep, PrincipalDep, ServicesDep
from gateway.errors import InvalidRequest, NotFound
from gateway.guards import record_decision, request_id_of, require_tenant_access
from gateway.schemas import (
    FILTER_MAX_CHARS,
    RECORD_PAGE_MAX,
    ExportRequest,
    RecordOut,
    RecordPageOut,
    TenantVerifyOut,
    VerifyOut,
    export_summary_fields,
    header_out,
    record_out,
    verify_out,
)
from gateway.services import Services
from policies.rbac import Principal, has_permission, tenant_may_access

READ = {"permission": "audit:read"}
# A filter value: at most FILTER_MAX_CHARS characters (and printable, checked in the handler).
Filter = Annotated[str | None, QueryParameter(max_length=FILTER_MAX_CHARS)]
Time = Annotated[str | None, QueryParameter(max_length=64, description="ISO 8601 time")]


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"'{name}' must be an ISO 8601 time.", param=name) from None


async def _audit_read(
    request: Request[Any, Any, Any],
    services: Services,
    principal: Principal,
    kind: str,
    details: dict[str, Any],
) -> None:
    await record_decision(services, request_id_of(request), principal, "allow", kind, details)


@get("/audit/records", opt=READ, summary="List audit record headers")
async def list_records(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    cursor: Annotated[str | None, QueryParameter(max_length=256)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=RECORD_PAGE_MAX)] = 100,
    since: Time = None,
    until: Time = None,
    kind: Filter = None,
    decision: Filter = None,
    model: Filter = None,
    role: Filter = None,
    tenant: Filter = None,
    request_id: Filter = None,
    subject_ref: Filter = None,
    principal_id: Annotated[str | None, QueryParameter(name="principal", max_length=FILTER_MAX_CHARS)] = None,
) -> RecordPageOut:
    """Record headers (never content) matching the filters, with cursor pagination. A tenant-bound
    caller sees its tenant's records only (asking for another tenant is refused)."""
    given = {
        "principal": principal_id,
        "role": role,
        "model": model,
        "kind": kind,
        "decision": decision,
        "subject_ref": subject_ref,
        "request_id": request_id,
        "tenant": tenant,
    }
    filters: dict[str, str] = {name: value for name, value in given.items() if value}
    for name, value in filters.items():
        if not value.isprintable():
            raise InvalidRequest(
                f"'{name}' must be at most {FILTER_MAX_CHARS} printable characters.", param=name
            )
    caller = principal.tenant
    if caller is not None:
        # The query narrows to the caller's tenant; asking for another one is refused like a read.
        await require_tenant_access(request, "audit:read", filters.get("tenant", caller))
        filters["tenant"] = caller
    record_filter = RecordFilter(
        since=_time(since, "since"),
        until=_time(until, "until"),
        principal=filters.get("principal"),
        role=filters.get("role"),
        model=filters.get("model"),
        kind=filters.get("kind"),
        decision=filters.get("decision"),
        subject_ref=filters.get("subject_ref"),
        request_id=filters.get("request_id"),
        tenant=filters.get("tenant"),
    )
    page = await services.audit.query(record_filter, cursor, limit)
    items = [item for item in page.items if tenant_may_access(caller, item.tenant)]
    await _audit_read(
        request,
        services,
        principal,
        "audit.read",
        {"filters": {**filters, "since": since, "until": until}, "count": len(items)},
    )
    return RecordPageOut(data=[header_out(item) for item in items], next_cursor=page.next_cursor)


@get("/audit/records/{seq:int}", opt=READ, summary="Read one audit record")
async def get_record(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    policy: PolicyDep,
    seq: FromPath[int],
) -> RecordOut:
    """One record; its decrypted content only for callers with ``audit:read_content``."""
    if not 1 <= seq < 2**63:  # outside any database integer: there is no such record
        raise NotFound("No audit record with this sequence number.")
    with_content = has_permission(policy.rbac, principal, "audit:read_content")
    header = await services.audit.get(seq, with_content=False)
    if header is not None:
        await require_tenant_access(request, "audit:read", header.header.tenant)
    view = await services.audit.get(seq, with_content=with_content) if header is not None else None
    await _audit_read(
        request,
        services,
        principal,
        "audit.read",
        {"seq": seq, "with_content": with_content, "found": view is not None},
    )
    if view is None:
        raise NotFound("No audit record with this sequence number.")
    return record_out(view)


_TENANT_VERIFY_REASON = "The audit log is not intact; an auditor with no tenant binding sees the details."


@get("/audit/verify", opt={"permission": "audit:verify"}, summary="Verify the audit log")
async def verify(
    request: Request[Any, Any, Any], services: ServicesDep, principal: PrincipalDep
) -> VerifyOut | TenantVerifyOut:
    """Check the hash chain, the signatures and the external checkpoints now.

    A tenant-bound auditor learns whether the log is intact and, when it is not, the first bad
    record only if that record is its tenant's: the details describe every tenant's records.
    """
    report = await services.audit.verify()
    await _audit_read(
        request,
        services,
        principal,
        "audit.verify",
        {"ok": report.ok, "first_bad_seq": report.first_bad_seq},
    )
    caller = principal.tenant
    if caller is None:
        return verify_out(report)
    first_bad = report.first_bad_seq
    if first_bad is not None:
        bad = await services.audit.get(first_bad, with_content=False)
        if bad is None or not tenant_may_access(caller, bad.header.tenant):
            first_bad = None
    return TenantVerifyOut(
        ok=report.ok,
        scope="tenant",
        first_bad_seq=first_bad,
        reason=None if report.ok else _TENANT_VERIFY_REASON,
    )


@post(
    "/audit/export",
    opt={"permission": "audit:export"},
    status_code=200,
    summary="Export a signed bundle of audit records",
    media_type="application/octet-stream",
)
async def export(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    principal: PrincipalDep,
    policy: PolicyDep,
    data: JSONBody[ExportRequest | None] = None,
) -> Response[bytes]:
    """A signed bundle of the records in a time range; ``gateway audit verify-bundle`` checks it offline."""
    spec = data if data is not None else ExportRequest()
    if spec.with_content and not has_permission(policy.rbac, principal, "audit:read_content"):
        raise InvalidRequest("Exporting content needs 'audit:read_content'.", code="permission_denied")
    bundle, summary = await services.audit.export_bytes(
        _time(spec.since, "since"),
        _time(spec.until, "until"),
        with_content=spec.with_content,
        caller_tenant=principal.tenant,
    )
    await _audit_read(
        request,
        services,
        principal,
        "audit.export",
        {
            "since": spec.since,
            "until": spec.until,
            "with_content": spec.with_content,
            "summary": export_summary_fields(summary),
        },
    )
    # Sent to the caller only: a decrypted copy is never left on the gateway's disk.
    name = f"audit-export-{request_id_of(request)}.bundle"
    return Response(
        content=bundle,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


audit_routes = [list_records, get_record, verify, export]
