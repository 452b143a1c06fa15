"""Auditor review API. Every read, verification and export is itself an audit record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post

from audit.store import RecordFilter
from gateway.errors import InvalidRequest, NotFound
from gateway.guards import (
    principal_of,
    record_decision,
    request_id_of,
    require_tenant_access,
    services_of,
)
from gateway.plain import to_plain
from gateway.validation import convert_or_400, decode_json_object
from policies.rbac import has_permission, tenant_may_access

FILTER_FIELDS = ("principal", "role", "model", "kind", "decision", "subject_ref", "request_id", "tenant")


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"'{name}' must be an ISO 8601 time.", param=name) from None


async def _audit_read(request: Request[Any, Any, Any], kind: str, details: dict[str, Any]) -> None:
    await record_decision(
        services_of(request), request_id_of(request), principal_of(request), "allow", kind, details
    )


@get("/audit/records", opt={"permission": "audit:read"})
async def list_records(
    request: Request[Any, Any, Any],
    cursor: str | None = None,
    limit: int = 100,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """Record headers (never content) matching the filters, with cursor pagination."""
    if not 1 <= limit <= 1000:
        raise InvalidRequest("'limit' must be between 1 and 1000.", param="limit")
    filters = {
        name: request.query_params.get(name) for name in FILTER_FIELDS if request.query_params.get(name)
    }
    for name, value in filters.items():
        if len(value) > 256 or not value.isprintable():
            raise InvalidRequest(f"'{name}' must be at most 256 printable characters.", param=name)
    caller = principal_of(request).tenant
    if caller is not None:
        # The query narrows to the caller's tenant; asking for another one is refused like a read.
        await require_tenant_access(request, "audit:read", filters.get("tenant", caller))
        filters["tenant"] = caller
    record_filter = RecordFilter(since=_time(since, "since"), until=_time(until, "until"), **filters)
    page = await services_of(request).audit.query(record_filter, cursor, limit)
    items = [item for item in page.items if tenant_may_access(caller, item.tenant)]
    await _audit_read(
        request,
        "audit.read",
        {"filters": {**filters, "since": since, "until": until}, "count": len(items)},
    )
    return {"data": [to_plain(item) for item in items], "next_cursor": page.next_cursor}


@get("/audit/records/{seq:int}", opt={"permission": "audit:read"})
async def get_record(request: Request[Any, Any, Any], seq: int) -> dict[str, Any]:
    """One record; its decrypted content only for callers with ``audit:read_content``."""
    services = services_of(request)
    principal = principal_of(request)
    if not 1 <= seq < 2**63:  # outside any database integer: there is no such record
        raise NotFound("No audit record with this sequence number.")
    with_content = has_permission(services.policy.rbac, principal, "audit:read_content")
    header = await services.audit.get(seq, with_content=False)
    if header is not None:
        await require_tenant_access(request, "audit:read", header.header.tenant)
    view = await services.audit.get(seq, with_content=with_content) if header is not None else None
    await _audit_read(
        request, "audit.read", {"seq": seq, "with_content": with_content, "found": view is not None}
    )
    if view is None:
        raise NotFound("No audit record with this sequence number.")
    return dict(to_plain(view))


_TENANT_VERIFY_REASON = "The audit log is not intact; an auditor with no tenant binding sees the details."


@get("/audit/verify", opt={"permission": "audit:verify"})
async def verify(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Check the hash chain, the signatures and the external checkpoints now.

    A tenant-bound auditor learns whether the log is intact and, when it is not, the first bad
    record only if that record is its tenant's: the details describe every tenant's records.
    """
    services = services_of(request)
    report = await services.audit.verify()
    body = dict(to_plain(report))
    await _audit_read(
        request, "audit.verify", {"ok": body.get("ok"), "first_bad_seq": body.get("first_bad_seq")}
    )
    caller = principal_of(request).tenant
    if caller is None:
        return body
    first_bad = report.first_bad_seq
    if first_bad is not None:
        bad = await services.audit.get(first_bad, with_content=False)
        if bad is None or not tenant_may_access(caller, bad.header.tenant):
            first_bad = None
    return {
        "ok": report.ok,
        "scope": "tenant",
        "first_bad_seq": first_bad,
        "reason": None
        if report.ok
        else "The audit log is not intact; an auditor with no tenant binding sees the details.",
    }


class ExportRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    since: str | None = None
    until: str | None = None
    with_content: bool = False


@post("/audit/export", opt={"permission": "audit:export"}, status_code=200)
async def export(request: Request[Any, Any, Any]) -> Response[bytes]:
    """A signed bundle of the records in a time range; ``gateway audit verify-bundle`` checks it offline."""
    services = services_of(request)
    raw = await request.body()
    data = decode_json_object(raw, services.settings.server.max_json_depth) if raw.strip() else {}
    spec = convert_or_400(data, ExportRequest, strict=False)
    principal = principal_of(request)
    if spec.with_content and not has_permission(services.policy.rbac, principal, "audit:read_content"):
        raise InvalidRequest("Exporting content needs 'audit:read_content'.", code="permission_denied")
    bundle, summary = await services.audit.export_bytes(
        _time(spec.since, "since"),
        _time(spec.until, "until"),
        with_content=spec.with_content,
        caller_tenant=principal.tenant,
    )
    await _audit_read(
        request,
        "audit.export",
        {
            "since": spec.since,
            "until": spec.until,
            "with_content": spec.with_content,
            "summary": to_plain(summary),
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
