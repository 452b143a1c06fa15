"""The data-subject and retention routes over HTTP (in-process app, real SQLite file): export,
erasure, holds, finding a value, retention runs; permissions, tenants, 4xx for bad input, and
that the personal data they handle reaches neither logs nor error bodies.

Records are written through the audit log at the real time; the routes' clock (``app.state.clock``)
is set by the tests, so "40 days later" is a value, not a wait.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from litestar.testing import TestClient

from audit.records import AuditEvent
from audit.store import AuditLog
from audit.subject_export import read_export_zip, verify_export
from gateway.app import create_app
from gateway.settings import load_settings

NAME_A, NAME_B = "Zelda Quarnby", "Bertram Oxley"


class Clock:
    """The routes' time source: the real time plus an offset the test sets."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Env:
    client: TestClient
    keys: dict[str, str]
    clock: Clock

    @property
    def audit(self) -> AuditLog:
        audit: AuditLog = self.client.app.state.services.audit
        return audit

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[who]}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def append(self, subject: str | None, name: str, n: int, tenant: str | None = None) -> None:
        """A request and its answer, as the pipeline records them (pseudonym map included)."""

        async def write() -> None:
            common = {"principal": "svc", "role": "clinician", "request_id": f"req-{n}-{name[:3]}"}
            await self.audit.append(
                AuditEvent(
                    kind="chat.request",
                    subject_id=subject,
                    tenant=tenant,
                    payload={
                        "request": {"messages": [{"role": "user", "content": f"About [PERSON_1] ({n})"}]},
                        "pseudonyms": {"[PERSON_1]": name},
                    },
                    **common,
                )
            )
            await self.audit.append(
                AuditEvent(
                    kind="chat.response",
                    subject_id=subject,
                    tenant=tenant,
                    payload={"answer": {"content": f"[PERSON_1] is fine ({n})"}},
                    **common,
                )
            )

        self.client.blocking_portal.call(write)

    def content(self, seq: int) -> Any:
        async def read() -> Any:
            view = await self.audit.get(seq, with_content=True)
            assert view is not None
            return view.content if view.content_status == "ok" else view.content_status

        return self.client.blocking_portal.call(read)

    def kinds(self) -> list[str]:
        async def read() -> list[str]:
            return [r.kind for r in await self.audit.read_range(1, 10**9)]

        return self.client.blocking_portal.call(read)

    def verify_ok(self) -> bool:
        async def run() -> bool:
            return (await self.audit.verify()).ok

        return self.client.blocking_portal.call(run)


KEY_SPECS: dict[str, tuple[list[str], str | None]] = {
    "dpo": (["dpo"], None),
    "dpo_t1": (["dpo"], "t1"),
    "admin": (["admin"], None),
    "admin_t1": (["admin"], "t1"),
    "auditor": (["auditor"], None),
    "clinician": (["clinician"], None),
    "service": (["service"], None),
    "analyst": (["analyst"], None),
}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    settings = load_settings(
        environ={}, overrides={"data_dir": str(tmp_path / "var"), "engine": {"urls": ["http://127.0.0.1:1"]}}
    )
    app = create_app(settings)
    clock = Clock()
    app.state.clock = clock
    with TestClient(app, raise_server_exceptions=False) as client:
        services = app.state.services
        keys: dict[str, str] = {}

        async def make() -> None:
            for label, (roles, tenant) in KEY_SPECS.items():
                _, keys[label] = await services.keys.create(f"dsr-{label}", roles, tenant=tenant)

        client.blocking_portal.call(make)
        yield Env(client, keys, clock)


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"message", "type", "param", "code"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error


# ----------------------------------------------------------------------------- export


def test_export_returns_exactly_the_subjects_records_restored_as_json_and_signed_zip(env: Env) -> None:
    env.append("subject-A", NAME_A, 1)
    env.append("subject-B", NAME_B, 2)
    env.append("subject-A", NAME_A, 3)
    response = env.call("dpo", "GET", "/dsr/subjects/subject-A/export")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["seq"] for r in body["records"]] == [1, 2, 5, 6]
    assert body["records"][1]["content"]["answer"]["content"] == f"{NAME_A} is fine (1)"
    assert NAME_B not in response.text and "subject-A" not in response.text
    assert body["manifest"]["records"] == 4 and body["manifest"]["subject_ref"] == body["subject_ref"]

    key = env.audit.signer.public_raw
    for kwargs in ({"params": {"format": "zip"}}, {"headers": {"Accept": "application/zip"}}):
        archive = env.call("dpo", "GET", "/dsr/subjects/subject-A/export", **kwargs)
        assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
        files = read_export_zip(archive.content)
        assert verify_export(files, public_key=key).origin_checked
        assert NAME_A in files["records.csv"].decode("utf-8-sig")
        assert zipfile.ZipFile(io.BytesIO(archive.content)).namelist() == [
            "records.json",
            "records.csv",
            "manifest.json",
        ]

    unknown = env.call("dpo", "GET", "/dsr/subjects/nobody-known/export")
    assert unknown.status_code == 200 and unknown.json()["records"] == []
    assert unknown.json()["manifest"]["signature"]
    assert env.kinds().count("dsr.export") == 4


@pytest.mark.parametrize("subject", ["%20%20", "a" * 300, "tab%09in"])
def test_malformed_subject_id_is_a_400_in_the_openai_shape_without_the_id(env: Env, subject: str) -> None:
    for method, path in (("GET", f"/dsr/subjects/{subject}/export"), ("DELETE", f"/dsr/subjects/{subject}")):
        response = env.call("dpo", method, path)
        assert response.status_code == 400, (method, response.text)
        error = error_of(response)
        assert error["code"] == "invalid_request" and error["param"] == "subject_id"
        assert "a" * 50 not in response.text


def test_bad_format_is_a_400(env: Env) -> None:
    response = env.call("dpo", "GET", "/dsr/subjects/subject-A/export", params={"format": "xml"})
    assert response.status_code == 400 and error_of(response)["type"] == "invalid_request_error"


# ----------------------------------------------------------------------------- erasure and holds


def test_erase_returns_a_signed_receipt_then_nothing_exports_and_others_do(env: Env) -> None:
    env.append("subject-A", NAME_A, 1)
    env.append("subject-B", NAME_B, 2)
    response = env.call("dpo", "DELETE", "/dsr/subjects/subject-A")
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["records_erased"] == 2 and len(receipt["key_ids"]) == 1 and receipt["signature"]
    assert "subject-A" not in response.text
    assert env.call("dpo", "GET", "/dsr/subjects/subject-A/export").json()["records"] == []
    assert len(env.call("dpo", "GET", "/dsr/subjects/subject-B/export").json()["records"]) == 2
    assert env.content(1) in ("erased", "key_unavailable")
    assert env.verify_ok()


def test_hold_blocks_erasure_with_409_naming_it_until_released(env: Env) -> None:
    env.append("subject-A", NAME_A, 1)
    created = env.call("dpo", "POST", "/dsr/holds", json={"subject_id": "subject-A"})
    assert created.status_code == 201, created.text
    hold = created.json()
    assert hold["subject_ref"] and "subject-A" not in created.text

    refused = env.call("dpo", "DELETE", "/dsr/subjects/subject-A")
    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "under_legal_hold" and error["hold_id"] == hold["hold_id"]
    assert hold["hold_id"] in error["message"]
    assert isinstance(env.content(1), dict)
    by_seq = env.call("dpo", "POST", "/dsr/records/erase", json={"seqs": [1]})
    assert by_seq.status_code == 409 and error_of(by_seq)["hold_id"] == hold["hold_id"]

    listed = env.call("dpo", "GET", "/dsr/holds").json()["data"]
    assert [h["hold_id"] for h in listed] == [hold["hold_id"]]
    released = env.call("dpo", "DELETE", f"/dsr/holds/{hold['hold_id']}")
    assert released.status_code == 200 and released.json()["released"]
    assert env.call("dpo", "GET", "/dsr/holds").json()["data"] == []
    assert len(env.call("dpo", "GET", "/dsr/holds", params={"include_released": "true"}).json()["data"]) == 1
    assert env.call("dpo", "DELETE", "/dsr/subjects/subject-A").status_code == 200
    assert env.kinds().count("dsr.erase") == 3  # two refusals recorded, one erasure


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "subject_id"),  # a hold on nothing
        ({"since": "yesterday"}, "since"),
        ({"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}, "until"),
        ({"subject_id": "x", "color": "red"}, None),
        ({"subject_id": "   "}, "subject_id"),
    ],
)
def test_bad_hold_requests_are_400(env: Env, body: dict[str, Any], param: str | None) -> None:
    response = env.call("dpo", "POST", "/dsr/holds", json=body)
    assert response.status_code == 400, response.text
    assert error_of(response)["param"] == param


def test_unknown_hold_is_404(env: Env) -> None:
    for hold_id in ("0" * 32, "x" * 40):
        response = env.call("dpo", "DELETE", f"/dsr/holds/{hold_id}")
        assert response.status_code == 404 and error_of(response)["code"] == "hold_not_found"
        assert hold_id not in response.text


# ----------------------------------------------------------------------------- find


def test_find_lists_records_holding_a_value_never_logging_or_echoing_it(env: Env) -> None:
    env.append(None, NAME_A, 1)
    env.append(None, NAME_B, 2)
    with structlog.testing.capture_logs() as logs:
        found = env.call("dpo", "POST", "/dsr/find", json={"value": NAME_A.upper()})
        too_long = env.call("dpo", "POST", "/dsr/find", json={"value": NAME_A * 30})
    assert found.status_code == 200, found.text
    assert found.json()["seqs"] == [1] and found.json()["scanned"] >= 4
    assert too_long.status_code == 400 and error_of(too_long)["param"] == "value"
    assert NAME_A not in too_long.text and NAME_A.upper() not in found.text
    assert NAME_A.upper() not in json.dumps(logs, default=str) and NAME_A not in json.dumps(logs, default=str)
    assert "dsr.find" in env.kinds()

    erased = env.call("dpo", "POST", "/dsr/records/erase", json={"seqs": found.json()["seqs"]})
    assert erased.status_code == 200 and erased.json()["records_erased"] == 1
    assert env.call("dpo", "POST", "/dsr/find", json={"value": NAME_A}).json()["seqs"] == []
    assert env.verify_ok()


@pytest.mark.parametrize("body", [{}, {"seqs": []}, {"seqs": [0]}, {"seqs": ["x"]}, {"seqs": [2**63]}])
def test_bad_record_erasures_are_400(env: Env, body: dict[str, Any]) -> None:
    response = env.call("dpo", "POST", "/dsr/records/erase", json=body)
    assert response.status_code == 400 and error_of(response)["type"] == "invalid_request_error"


# ----------------------------------------------------------------------------- retention


def test_admin_retention_run_with_the_routes_clock(env: Env) -> None:
    env.append(None, NAME_A, 1)
    env.append("subject-held", NAME_B, 2)
    assert env.call("dpo", "POST", "/dsr/holds", json={"subject_id": "subject-held"}).status_code == 201
    env.clock.offset = timedelta(days=10)
    early = env.call("admin", "POST", "/admin/retention/run", json={})
    assert early.status_code == 200 and early.json()["expired_by_kind"] == {}
    env.clock.offset = timedelta(days=40)
    dry = env.call("admin", "POST", "/admin/retention/run", json={"dry_run": True})
    assert dry.json()["dry_run"] and dry.json()["expired_by_kind"] == {"chat.request": 1, "chat.response": 1}
    assert isinstance(env.content(1), dict)
    report = env.call("admin", "POST", "/admin/retention/run", json={"batch_size": 1})
    assert report.status_code == 200, report.text
    assert report.json()["held"] == 2 and report.json()["erasure_seqs"]
    assert env.content(1) in ("erased", "key_unavailable")
    assert isinstance(env.content(3), dict)  # held
    assert env.verify_ok()
    bad = env.call("admin", "POST", "/admin/retention/run", json={"batch_size": 0})
    assert bad.status_code == 400 and error_of(bad)["param"] == "batch_size"


# ----------------------------------------------------------------------------- permissions and tenants


DSR_CALLS = [
    ("GET", "/dsr/subjects/subject-A/export", None),
    ("DELETE", "/dsr/subjects/subject-A", None),
    ("POST", "/dsr/find", {"value": "x"}),
    ("POST", "/dsr/records/erase", {"seqs": [1]}),
    ("POST", "/dsr/holds", {"subject_id": "subject-A"}),
    ("GET", "/dsr/holds", None),
    ("DELETE", "/dsr/holds/" + "0" * 32, None),
]


@pytest.mark.parametrize("who", ["admin", "auditor", "clinician", "service", "analyst"])
def test_only_dpo_may_use_dsr_routes(env: Env, who: str) -> None:
    env.append("subject-A", NAME_A, 1)
    for method, path, body in DSR_CALLS:
        response = env.call(who, method, path, json=body) if body else env.call(who, method, path)
        assert response.status_code == 403, (who, method, path, response.text)
        assert error_of(response)["type"] == "permission_error"
    assert isinstance(env.content(1), dict)
    assert env.call(who, "GET", "/dsr/holds", headers={"Authorization": ""}).status_code in (401, 403)


@pytest.mark.parametrize("who", ["dpo", "auditor", "clinician", "admin_t1"])
def test_only_unbound_admin_runs_retention(env: Env, who: str) -> None:
    response = env.call(who, "POST", "/admin/retention/run", json={"dry_run": True})
    assert response.status_code == 403 and error_of(response)["type"] == "permission_error"


def test_no_credential_is_401(env: Env) -> None:
    assert env.client.get("/dsr/holds").status_code == 401
    assert env.client.post("/admin/retention/run", json={}).status_code == 401


def test_tenant_bound_dpo_is_sealed_to_its_tenant(env: Env) -> None:
    env.append("subject-1", NAME_A, 1, tenant="t1")  # seqs 1, 2
    env.append("subject-2", NAME_B, 2, tenant="t2")  # seqs 3, 4
    env.append(None, NAME_A, 3, tenant="t2")  # seqs 5, 6
    assert len(env.call("dpo_t1", "GET", "/dsr/subjects/subject-1/export").json()["records"]) == 2
    assert env.call("dpo_t1", "GET", "/dsr/subjects/subject-2/export").status_code == 403
    assert env.call("dpo_t1", "DELETE", "/dsr/subjects/subject-2").status_code == 403
    assert env.call("dpo_t1", "POST", "/dsr/records/erase", json={"seqs": [3]}).status_code == 403
    assert isinstance(env.content(3), dict)
    assert env.call("dpo_t1", "POST", "/dsr/find", json={"value": NAME_A}).json()["seqs"] == [1]
    assert env.call("dpo", "POST", "/dsr/find", json={"value": NAME_A}).json()["seqs"] == [1, 5]

    own = env.call("dpo_t1", "POST", "/dsr/holds", json={"subject_id": "subject-1"}).json()
    assert own["tenant"] == "t1"
    assert (
        env.call("dpo_t1", "POST", "/dsr/holds", json={"since": "2020-01-01", "tenant": "t2"}).status_code
        == 403
    )
    other = env.call("dpo", "POST", "/dsr/holds", json={"subject_id": "subject-2", "tenant": "t2"}).json()
    assert [h["hold_id"] for h in env.call("dpo_t1", "GET", "/dsr/holds").json()["data"]] == [own["hold_id"]]
    assert env.call("dpo_t1", "DELETE", f"/dsr/holds/{other['hold_id']}").status_code == 403
    assert len(env.call("dpo", "GET", "/dsr/holds").json()["data"]) == 2
    assert env.call("dpo_t1", "DELETE", f"/dsr/holds/{own['hold_id']}").status_code == 200
    assert env.call("dpo_t1", "DELETE", "/dsr/subjects/subject-1").status_code == 200
    assert isinstance(env.content(3), dict) and env.verify_ok()
