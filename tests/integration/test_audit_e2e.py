"""End to end: the gateway's use of the encrypted, tamper-evident audit log (issue 6).

Real processes (simulator, gateway), real HTTP, keys created with the CLI, and the stored bytes read
back the way someone with file or database access would read them. The library itself is tested in
tests/unit/audit and tests/integration/audit; this module proves the gateway wires it in correctly.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from audit.errors import AuditUnavailable
from audit.keyring import SUBJECT_KEY_FILE, SubjectHasher
from audit.store import AuditLog, AuditSettings
from gateway.app import create_app
from gateway.services import audit_settings
from gateway.settings import load_settings
from tests.conftest import (
    MODEL,
    ROOT,
    Gateway,
    Simulator,
    free_port,
    gateway_cli,
    start_gateway,
    start_simulator,
    stop,
)

pytestmark = pytest.mark.e2e

# Synthetic markers: none of them may ever appear in clear in the stored log.
SUBJECT = "subject-e2e-zq7-0001"
PROMPT_MARKERS = ("zq7prompt-alpha-marker", "zq7prompt-bravo-marker")
ANSWER_MARKERS = ("zq7answer-alpha-marker", "zq7answer-bravo-marker")
# The stream's answer arrives in pieces; the audit record must still hold it joined (encrypted).
SCRIPT = [
    f"Answer {ANSWER_MARKERS[0]}",
    ["Streamed ", "zq7answer-", "bravo-", "marker"],
]

# A site role that may list audit records but not read their content.
REVIEWER_ROLES_YAML = """\
version: 1
roles:
  reviewer:
    description: Lists audit record headers; never sees content
    permissions: [audit:read]
    models: []
"""

APPEND_TIMEOUT_S = AuditSettings.__dataclass_fields__["append_timeout_s"].default


# ----------------------------------------------------------------------------- helpers


def _create_keys(data_dir: Path, roles: list[str], env: dict[str, str] | None = None) -> dict[str, dict]:
    """Create one key per role with ``gateway keys create --json``, the CLI processes in parallel."""
    procs = {
        role: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "keys",
                "create",
                "--name",
                f"e2e-{role}",
                "--role",
                role,
                "--json",
                "--data-dir",
                str(data_dir),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        for role in roles
    }
    out: dict[str, dict] = {}
    for role, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"keys create --role {role}: {stdout} {stderr}"
        out[role] = json.loads(stdout)
    return out


def _auth(key: str, subject: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if subject:
        headers["X-Data-Subject"] = subject
    return headers


def _rid(response: httpx.Response) -> str:
    """The request id the gateway gave this request (the one its audit records carry)."""
    return response.headers["x-request-id"]


def _chat_body(prompt: str, stream: bool = False) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": stream}


def _sse_events(text: str) -> list[str]:
    return [line[len("data:") :].strip() for line in text.splitlines() if line.startswith("data:")]


def _stream_text(events: list[str]) -> str:
    text = ""
    for data in events:
        if data == "[DONE]":
            continue
        for choice in json.loads(data).get("choices") or ():
            text += (choice.get("delta") or {}).get("content") or ""
    return text


def _db_path(data_dir: Path) -> Path:
    return data_dir / "gateway.db"


def _raw_kinds(data_dir: Path, request_id: str) -> list[str]:
    """Kinds of the committed records of one request, read with sqlite3 as an outsider would."""
    conn = sqlite3.connect(f"file:{_db_path(data_dir)}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(
            "SELECT kind FROM audit_records WHERE request_id = ? ORDER BY seq", (request_id,)
        ).fetchall()
    finally:
        conn.close()
    return [row[0] for row in rows]


def _leaks(blob: bytes, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value.encode() in blob]


def _secrets(keys: dict[str, dict]) -> dict[str, str]:
    """Everything that must never be stored in clear: markers, the subject id, API keys."""
    found = {f"prompt marker {i}": m for i, m in enumerate(PROMPT_MARKERS)}
    found.update({f"answer marker {i}": m for i, m in enumerate(ANSWER_MARKERS)})
    found["subject id"] = SUBJECT
    for role, info in keys.items():
        found[f"{role} API key"] = info["key"]
        found[f"{role} API key secret part"] = info["key"].split("_", 2)[
            2
        ]  # the secret may itself contain "_"
    return found


def _run_traffic(gw_url: str, sim: Simulator, keys: dict[str, dict], stream_role: str) -> dict[str, str]:
    """One non-streaming (service) and one streaming (``stream_role``) chat about SUBJECT, scripted answers.

    Returns request id by label. Asserts the client really got the marked answers, so the leak
    checks that follow are about text that did pass through the gateway.
    """
    rids: dict[str, str] = {}
    assert httpx.put(sim.url + "/sim/script", json=SCRIPT, trust_env=False).status_code == 200
    try:
        plain = httpx.post(
            gw_url + "/v1/chat/completions",
            headers=_auth(keys["service"]["key"], SUBJECT),
            json=_chat_body(f"Please summarize {PROMPT_MARKERS[0]} now"),
            timeout=30,
        )
        assert plain.status_code == 200, plain.text
        rids["plain"] = _rid(plain)
        assert ANSWER_MARKERS[0] in plain.json()["choices"][0]["message"]["content"]
        streamed = httpx.post(
            gw_url + "/v1/chat/completions",
            headers=_auth(keys[stream_role]["key"], SUBJECT),
            json=_chat_body(f"Please summarize {PROMPT_MARKERS[1]} now", stream=True),
            timeout=30,
        )
        assert streamed.status_code == 200, streamed.text
        rids["stream"] = _rid(streamed)
        events = _sse_events(streamed.text)
        assert events[-1] == "[DONE]"
        assert ANSWER_MARKERS[1] in _stream_text(events)
    finally:
        httpx.delete(sim.url + "/sim/script", trust_env=False)
    return rids


@dataclass
class Stack:
    gw: Gateway
    sim: Simulator
    keys: dict[str, dict]
    env: dict[str, str]
    traffic: dict[str, str] = field(default_factory=dict)

    def key(self, role: str) -> str:
        return str(self.keys[role]["key"])

    def key_id(self, role: str) -> str:
        return str(self.keys[role]["id"])

    def records(self, role: str = "auditor", **params: Any) -> dict[str, Any]:
        response = httpx.get(
            self.gw.url + "/audit/records", headers=_auth(self.key(role)), params=params, timeout=30
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def record(self, seq: int, role: str = "auditor") -> dict[str, Any]:
        return self.record_and_id(seq, role)[0]

    def record_and_id(self, seq: int, role: str = "auditor") -> tuple[dict[str, Any], str]:
        """One record as ``role`` reads it, and the request id of that read."""
        response = httpx.get(self.gw.url + f"/audit/records/{seq}", headers=_auth(self.key(role)), timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body, _rid(response)

    def only(self, kind: str, request_id: str) -> dict[str, Any]:
        """The single record of ``kind`` for ``request_id`` (fails if there is not exactly one)."""
        items = self.records(kind=kind, request_id=request_id)["data"]
        assert len(items) == 1, f"expected one {kind} record for {request_id}, got {items}"
        return dict(items[0])


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    """This module's simulator: 20 ms per token, so a stream lasts long enough to break the store mid-way."""
    sim = start_simulator("--tpot-ms", "20")
    yield sim
    stop(sim.proc)


@pytest.fixture(scope="module")
def stack(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Gateway on SQLite with a site policy overlay (adds the ``reviewer`` role), keys from the CLI."""
    base = tmp_path_factory.mktemp("audit-e2e")
    policy_dir = base / "policies"
    policy_dir.mkdir()
    (policy_dir / "roles.yaml").write_text(REVIEWER_ROLES_YAML)
    env = {"GATEWAY_POLICY__DIR": str(policy_dir)}
    gw = start_gateway(base, simulator.url, env)
    try:
        keys = _create_keys(gw.data_dir, ["service", "clinician", "auditor", "reviewer"], env)
        result = Stack(gw, simulator, keys, env)
        result.traffic = _run_traffic(gw.url, simulator, keys, "clinician")
        yield result
    finally:
        stop(gw.proc)


# ----------------------------------------------------------------------------- 1. nothing in clear


def test_sqlite_files_hold_no_prompt_answer_subject_or_api_key_in_clear(stack: Stack) -> None:
    data_dir = stack.gw.data_dir
    files = [*sorted(data_dir.glob("gateway.db*")), data_dir / "audit-checkpoints.jsonl"]
    assert _db_path(data_dir) in files
    # The records are there (so the check below is not vacuous): both requests, both responses.
    for rid in stack.traffic.values():
        assert _raw_kinds(data_dir, rid) == ["chat.request", "chat.response"]
    secrets = _secrets(stack.keys)
    for path in files:
        if path.exists():
            assert _leaks(path.read_bytes(), secrets) == [], f"{path.name} holds data in clear"


@pytest.fixture(scope="module")
def pg_stack(
    postgres_url: str, simulator: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, str]]:
    """A gateway whose storage is a fresh PostgreSQL database, created here and dropped afterwards."""
    import asyncpg

    admin_dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"gw_e2e_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL at {admin_dsn} is not usable: {type(exc).__name__}")
    db_dsn = admin_dsn.rsplit("/", 1)[0] + "/" + name
    env = {"GATEWAY_STORAGE__URL": "postgresql+asyncpg://" + db_dsn.split("://", 1)[1]}
    gw: Gateway | None = None
    try:
        gw = start_gateway(tmp_path_factory.mktemp("audit-pg"), simulator.url, env)
        keys = _create_keys(gw.data_dir, ["service"], env)
        result = Stack(gw, simulator, keys, env)
        result.traffic = _run_traffic(gw.url, simulator, keys, "service")
        yield result, db_dsn
    finally:
        if gw is not None:
            stop(gw.proc)
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_postgres_tables_hold_no_prompt_answer_subject_or_api_key_in_clear(
    pg_stack: tuple[Stack, str],
) -> None:
    import asyncpg

    stack, dsn = pg_stack

    async def dump() -> tuple[dict[str, list[tuple[str, bytes]]], list[tuple[str, str]]]:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            tables = [
                row[0]
                for row in await conn.fetch(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                )
            ]
            values: dict[str, list[tuple[str, bytes]]] = {}
            for table in tables:
                cells: list[tuple[str, bytes]] = []
                for row in await conn.fetch(f'SELECT * FROM "{table}"'):
                    for column, value in row.items():
                        raw = bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None
                        cells.append((column, raw if raw is not None else str(value).encode()))
                for row in await conn.fetch(f'SELECT t::text FROM "{table}" t'):
                    cells.append(("<row text>", str(row[0]).encode()))
                values[table] = cells
            kinds = [
                (str(r[0]), str(r[1]))
                for r in await conn.fetch("SELECT kind, request_id FROM audit_records ORDER BY seq")
            ]
            return values, kinds
        finally:
            await conn.close()

    tables, kinds = asyncio.run(dump())
    assert {"audit_records", "audit_deks", "gateway_api_keys"} <= set(tables), sorted(tables)
    for rid in stack.traffic.values():
        assert [k for k, r in kinds if r == rid] == ["chat.request", "chat.response"]
    secrets = _secrets(stack.keys)
    for table, cells in tables.items():
        for column, blob in cells:
            assert _leaks(blob, secrets) == [], f"{table}.{column} holds data in clear"


# ----------------------------------------------------------------------------- 2. every request recorded


def test_non_streaming_chat_is_recorded_before_the_body_arrives(stack: Stack) -> None:
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=_auth(stack.key("service"), "subject-e2e-other-1"),
        json=_chat_body("recorded first"),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    rid = _rid(response)
    # Read straight from the file at once: both records must already be committed.
    assert _raw_kinds(stack.gw.data_dir, rid) == ["chat.request", "chat.response"]
    request, answer = (stack.only(kind, rid) for kind in ("chat.request", "chat.response"))
    assert request["seq"] < answer["seq"]
    assert request["principal"] == answer["principal"] == stack.key_id("service")


def test_streaming_chat_response_record_is_committed_before_done(stack: Stack) -> None:
    seen_done = False
    with httpx.stream(
        "POST",
        stack.gw.url + "/v1/chat/completions",
        headers=_auth(stack.key("clinician"), "subject-e2e-other-2"),
        json=_chat_body("one two three four five", stream=True),
        timeout=30,
    ) as response:
        assert response.status_code == 200
        rid = _rid(response)
        for line in response.iter_lines():
            if line.strip() == "data: [DONE]":
                seen_done = True
                # Before reading anything further: the response record is already in the file.
                assert _raw_kinds(stack.gw.data_dir, rid) == ["chat.request", "chat.response"]
                break
    assert seen_done
    assert stack.only("chat.response", rid)["usage"]["completion_tokens"] == 5


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
def test_every_request_has_a_request_and_a_response_record_with_its_request_id(
    stack: Stack, path: str
) -> None:
    kind = "chat" if "chat" in path else "completions"
    rids = []
    for stream in (False, True, False, True):
        label = uuid.uuid4().hex[:10]
        body: dict[str, Any] = {"model": MODEL, "stream": stream}
        if kind == "chat":
            body["messages"] = [{"role": "user", "content": f"pairing {label}"}]
        else:
            body["prompt"] = f"pairing {label}"
        response = httpx.post(stack.gw.url + path, headers=_auth(stack.key("service")), json=body, timeout=30)
        assert response.status_code == 200, response.text
        rids.append(_rid(response))
    for rid in rids:
        records = stack.records(request_id=rid)["data"]
        assert [r["kind"] for r in records] == [f"{kind}.request", f"{kind}.response"], rid
        assert records[0]["seq"] < records[1]["seq"]
    # And the traffic of the module's fixture, streamed and not, is paired the same way.
    for rid in stack.traffic.values():
        assert [r["kind"] for r in stack.records(request_id=rid)["data"]] == ["chat.request", "chat.response"]


def test_bad_key_is_recorded_as_auth_failure(stack: Stack) -> None:
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=_auth("gw_nopenope_" + "x" * 43),
        json=_chat_body("never forwarded"),
    )
    assert response.status_code == 401
    record = stack.only("auth.failure", _rid(response))
    assert record["decision"] == "deny" and record["principal"] is None


def test_denied_route_is_recorded_as_authz_denied(stack: Stack) -> None:
    before = len(stack.sim.requests())
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=_auth(stack.key("auditor")),
        json=_chat_body("auditors do not chat"),
    )
    assert response.status_code == 403
    record = stack.only("authz.denied", _rid(response))
    assert record["decision"] == "deny" and record["principal"] == stack.key_id("auditor")
    response = httpx.get(stack.gw.url + "/audit/records", headers=_auth(stack.key("service")))
    assert response.status_code == 403
    assert stack.only("authz.denied", _rid(response))["principal"] == stack.key_id("service")
    assert len(stack.sim.requests()) == before


# ----------------------------------------------------------------------------- 3. auditor API


def _subject_ref(data_dir: Path, subject: str) -> str:
    key = (data_dir / "keys" / "audit" / SUBJECT_KEY_FILE).read_bytes()
    return SubjectHasher(key).ref(subject)


def test_records_filter_by_kind_principal_request_id_and_subject(stack: Stack) -> None:
    by_kind = stack.records(kind="chat.request", limit=1000)["data"]
    assert by_kind and {r["kind"] for r in by_kind} == {"chat.request"}
    assert set(stack.traffic.values()) <= {r["request_id"] for r in by_kind}

    service_id = stack.key_id("service")
    by_principal = stack.records(principal=service_id, limit=1000)["data"]
    assert by_principal and {r["principal"] for r in by_principal} == {service_id}
    assert stack.traffic["plain"] in {r["request_id"] for r in by_principal}
    assert stack.traffic["stream"] not in {r["request_id"] for r in by_principal}  # clinician's

    by_request = stack.records(request_id=stack.traffic["plain"])["data"]
    assert [r["kind"] for r in by_request] == ["chat.request", "chat.response"]

    # The subject filter takes the keyed HMAC of the id, computed here from the key ring.
    ref = _subject_ref(stack.gw.data_dir, SUBJECT)
    by_subject = stack.records(subject_ref=ref, limit=1000)["data"]
    assert {r["request_id"] for r in by_subject} == set(stack.traffic.values())
    assert len(by_subject) == 4 and {r["subject_ref"] for r in by_subject} == {ref}


def test_records_filter_by_time_range(stack: Stack) -> None:
    everything = stack.records(kind="chat.request", limit=1000)["data"]
    pivot = stack.only("chat.request", stack.traffic["stream"])
    moment = datetime.fromisoformat(pivot["time"])
    since = stack.records(kind="chat.request", since=pivot["time"], limit=1000)["data"]
    until = stack.records(kind="chat.request", until=pivot["time"], limit=1000)["data"]
    assert pivot["seq"] in {r["seq"] for r in since}
    assert pivot["seq"] not in {r["seq"] for r in until}  # until is exclusive
    assert all(datetime.fromisoformat(r["time"]) >= moment for r in since)
    assert all(datetime.fromisoformat(r["time"]) < moment for r in until)
    assert stack.traffic["plain"] in {r["request_id"] for r in until}
    assert sorted(r["seq"] for r in since + until) == [r["seq"] for r in everything]
    bad = httpx.get(
        stack.gw.url + "/audit/records", headers=_auth(stack.key("auditor")), params={"since": "yesterday"}
    )
    assert bad.status_code == 400


def test_records_paginate_with_a_cursor(stack: Stack) -> None:
    whole = stack.records(kind="chat.request", limit=1000)
    assert set(whole) == {"data", "next_cursor"} and whole["next_cursor"] is None
    assert len(whole["data"]) >= 2
    seqs: list[int] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"kind": "chat.request", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = stack.records(**params)
        assert len(page["data"]) == 1
        seqs.append(page["data"][0]["seq"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seqs == [r["seq"] for r in whole["data"]]
    bad = httpx.get(
        stack.gw.url + "/audit/records", headers=_auth(stack.key("auditor")), params={"cursor": "bm9wZQ"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"


def test_auditor_reads_decrypted_content_and_the_read_is_recorded(stack: Stack) -> None:
    request = stack.only("chat.request", stack.traffic["plain"])
    view, rid = stack.record_and_id(request["seq"])
    assert view["content_status"] == "ok" and view["content_included"] is True
    assert view["content"]["request"]["messages"][0]["content"] == f"Please summarize {PROMPT_MARKERS[0]} now"
    answer = stack.only("chat.response", stack.traffic["stream"])
    content = stack.record(answer["seq"])["content"]
    assert content["answer"]["0"]["content"] == f"Streamed {ANSWER_MARKERS[1]}"
    assert content["delivered"] == "complete"
    read = stack.only("audit.read", rid)
    assert read["principal"] == stack.key_id("auditor") and read["decision"] == "allow"
    details = stack.record(read["seq"])["content"]
    assert details["seq"] == request["seq"] and details["with_content"] is True


def test_role_without_read_content_sees_headers_only(stack: Stack) -> None:
    request = stack.only("chat.request", stack.traffic["plain"])
    response = httpx.get(
        stack.gw.url + f"/audit/records/{request['seq']}", headers=_auth(stack.key("reviewer"))
    )
    assert response.status_code == 200, response.text
    rid = _rid(response)
    view = response.json()
    assert view["header"]["seq"] == request["seq"]
    assert view["content"] is None and view["content_included"] is False
    assert view["content_status"] == "not_requested"
    assert PROMPT_MARKERS[0] not in response.text
    # The reviewer may list, but not verify or export.
    assert stack.records(role="reviewer", request_id=stack.traffic["plain"])["data"]
    assert httpx.get(stack.gw.url + "/audit/verify", headers=_auth(stack.key("reviewer"))).status_code == 403
    read = stack.only("audit.read", rid)
    assert read["principal"] == stack.key_id("reviewer")
    assert stack.record(read["seq"])["content"]["with_content"] is False


def test_list_is_itself_recorded_as_audit_read(stack: Stack) -> None:
    response = httpx.get(
        stack.gw.url + "/audit/records",
        headers=_auth(stack.key("auditor")),
        params={"kind": "chat.response"},
    )
    assert response.status_code == 200
    read = stack.only("audit.read", _rid(response))
    assert read["principal"] == stack.key_id("auditor")
    details = stack.record(read["seq"])["content"]
    assert details["filters"]["kind"] == "chat.response"
    assert details["count"] == len(response.json()["data"])


def test_verify_endpoint_says_ok_and_is_recorded(stack: Stack) -> None:
    response = httpx.get(stack.gw.url + "/audit/verify", headers=_auth(stack.key("auditor")), timeout=60)
    rid = _rid(response)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True and report["first_bad_seq"] is None
    assert report["checked"] >= 4 and report["authenticated"] == report["checked"]
    record = stack.only("audit.verify", rid)
    assert record["principal"] == stack.key_id("auditor") and record["decision"] == "allow"


def test_export_bundle_verifies_offline_and_one_changed_line_is_rejected(
    stack: Stack, tmp_path: Path
) -> None:
    response = httpx.post(
        stack.gw.url + "/audit/export", headers=_auth(stack.key("auditor")), json={}, timeout=60
    )
    assert response.status_code == 200, response.text
    rid = _rid(response)
    bundle = tmp_path / "audit.bundle"
    bundle.write_bytes(response.content)
    lines = response.content.decode().splitlines()
    assert any(json.loads(line).get("type") == "record" for line in lines)
    assert PROMPT_MARKERS[0] not in response.text  # exported without content by default

    ok = gateway_cli("audit", "verify-bundle", str(bundle), data_dir=tmp_path / "unused")
    assert ok.returncode == 0, ok.stdout + ok.stderr

    index = next(i for i, line in enumerate(lines) if json.loads(line).get("type") == "record")
    item = json.loads(lines[index])
    item["record"]["decision"] = "deny" if item["record"]["decision"] != "deny" else "allow"
    lines[index] = json.dumps(item, sort_keys=True, separators=(",", ":"))
    tampered = tmp_path / "tampered.bundle"
    tampered.write_text("\n".join(lines) + "\n")
    bad = gateway_cli("audit", "verify-bundle", str(tampered), data_dir=tmp_path / "unused")
    assert bad.returncode == 1, bad.stdout + bad.stderr

    record = stack.only("audit.export", rid)
    assert record["principal"] == stack.key_id("auditor") and record["decision"] == "allow"


# ----------------------------------------------------------------------------- 4. fail closed


@pytest.fixture(scope="module")
def app_client(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("audit-inproc")
    settings = load_settings(
        environ={},
        overrides={"data_dir": str(data_dir), "engine": {"urls": [simulator.url]}, "pii": {"enabled": False}},
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def inproc_key(app_client: TestClient) -> str:
    services = app_client.app.state.services
    out: list[str] = []

    async def make() -> None:
        _, plaintext = await services.keys.create("inproc-service", ["service"])
        out.append(plaintext)

    app_client.blocking_portal.call(make)
    return out[0]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_chat_is_refused_with_503_when_the_request_record_cannot_be_written(
    app_client: TestClient,
    inproc_key: str,
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool,
) -> None:
    audit = app_client.app.state.services.audit

    async def refuse(_event: Any) -> Any:
        raise AuditUnavailable("store is down (test)")

    before = len(simulator.requests())
    monkeypatch.setattr(audit, "append", refuse)
    response = app_client.post(
        "/v1/chat/completions", headers=_auth(inproc_key), json=_chat_body("must not leave", stream=stream)
    )
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "audit_unavailable"
    assert len(simulator.requests()) == before
    monkeypatch.undo()
    works = app_client.post("/v1/chat/completions", headers=_auth(inproc_key), json=_chat_body("back"))
    assert works.status_code == 200


def test_stream_without_a_response_record_ends_with_an_error_not_done(
    app_client: TestClient, inproc_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = app_client.app.state.services.audit
    real_append = audit.append

    async def refuse_responses(event: Any) -> Any:
        if event.kind.endswith(".response"):
            raise AuditUnavailable("store is down (test)")
        return await real_append(event)

    monkeypatch.setattr(audit, "append", refuse_responses)
    response = app_client.post(
        "/v1/chat/completions", headers=_auth(inproc_key), json=_chat_body("alpha beta gamma", stream=True)
    )
    events = _sse_events(response.text)
    assert "[DONE]" not in events
    assert json.loads(events[-1])["error"]["code"] == "audit_unavailable"


def test_non_streaming_answer_is_withheld_when_the_response_record_cannot_be_written(
    app_client: TestClient, inproc_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = app_client.app.state.services.audit
    real_append = audit.append

    async def refuse_responses(event: Any) -> Any:
        if event.kind.endswith(".response"):
            raise AuditUnavailable("store is down (test)")
        return await real_append(event)

    monkeypatch.setattr(audit, "append", refuse_responses)
    response = app_client.post(
        "/v1/chat/completions", headers=_auth(inproc_key), json=_chat_body("withheld zq7 answer")
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_unavailable"
    assert "withheld zq7 answer" not in response.text


class _ExclusiveLock:
    """Holds SQLite's write lock on the gateway's database from this (test) process."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=15, isolation_level=None)

    def __enter__(self) -> _ExclusiveLock:
        self.conn.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_locked_store_refuses_chat_with_503_within_the_append_timeout(stack: Stack) -> None:
    gw, sim = stack.gw, stack.sim
    before = len(sim.requests())
    with _ExclusiveLock(_db_path(gw.data_dir)):
        started = time.monotonic()
        response = httpx.post(
            gw.url + "/v1/chat/completions",
            headers=_auth(stack.key("service")),
            json=_chat_body("must not reach the model"),
            timeout=APPEND_TIMEOUT_S + 20,
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "audit_unavailable"
        assert elapsed < APPEND_TIMEOUT_S + 2, f"took {elapsed:.1f} s"
        assert len(sim.requests()) == before
    after = httpx.post(
        gw.url + "/v1/chat/completions",
        headers=_auth(stack.key("service")),
        json=_chat_body("back"),
        timeout=30,
    )
    assert after.status_code == 200
    assert len(sim.requests()) == before + 1


def test_locked_store_mid_stream_ends_the_stream_without_done(stack: Stack) -> None:
    gw = stack.gw
    words = " ".join(f"w{i}" for i in range(40))
    events: list[str] = []
    lock: _ExclusiveLock | None = None
    try:
        with httpx.stream(
            "POST",
            gw.url + "/v1/chat/completions",
            headers=_auth(stack.key("service")),
            json=_chat_body(words, stream=True),
            timeout=APPEND_TIMEOUT_S + 20,
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                events.append(line[len("data:") :].strip())
                if lock is None and _stream_text(events):
                    # The request record is committed and content flows: now the store goes away.
                    lock = _ExclusiveLock(_db_path(gw.data_dir)).__enter__()
    finally:
        if lock is not None:
            lock.__exit__()
    assert lock is not None, "no content arrived before the end"
    assert "[DONE]" not in events
    assert json.loads(events[-1])["error"]["code"] == "audit_unavailable"


# ----------------------------------------------------------------------------- 5. CLI verify


@pytest.fixture(scope="module")
def closed_log(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir written by a real gateway (chats streaming and not), the gateway stopped."""
    gw = start_gateway(tmp_path_factory.mktemp("audit-closed"), simulator.url)
    try:
        key = _create_keys(gw.data_dir, ["service"])["service"]["key"]
        for i in range(3):
            response = httpx.post(
                gw.url + "/v1/chat/completions",
                headers=_auth(key, subject=f"subject-e2e-closed-{i}"),
                json=_chat_body(f"closed log {i}", stream=i == 1),
                timeout=30,
            )
            assert response.status_code == 200
    finally:
        stop(gw.proc)
    assert gw.proc.returncode is not None
    return gw.data_dir


def _copy(data_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(data_dir, target)
    return target


def _verify(data_dir: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = gateway_cli("audit", "verify", "--json", data_dir=data_dir, env=env)
    try:
        return result.returncode, json.loads(result.stdout)
    except ValueError:
        pytest.fail(
            f"audit verify did not print JSON (rc {result.returncode}): {result.stdout} {result.stderr}"
        )


def _seq_of(data_dir: Path, kind: str, nth: int = 1) -> int:
    with sqlite3.connect(_db_path(data_dir)) as conn:
        rows = conn.execute("SELECT seq FROM audit_records WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
    return int(rows[nth][0])


def test_cli_verify_accepts_the_intact_log(closed_log: Path, tmp_path: Path) -> None:
    copy = _copy(closed_log, tmp_path)
    rc, report = _verify(copy)
    assert rc == 0, report
    assert report["ok"] is True and report["first_bad_seq"] is None
    assert report["checked"] >= 7  # key creation + 3 requests + 3 responses
    assert report["authenticated"] == report["checked"]


def test_cli_verify_names_a_record_whose_payload_byte_was_changed(closed_log: Path, tmp_path: Path) -> None:
    copy = _copy(closed_log, tmp_path)
    seq = _seq_of(copy, "chat.request", 1)
    with sqlite3.connect(_db_path(copy)) as conn:
        (ciphertext,) = conn.execute("SELECT ciphertext FROM audit_records WHERE seq = ?", (seq,)).fetchone()
        changed = bytearray(ciphertext)
        changed[len(changed) // 2] ^= 0x01
        conn.execute("UPDATE audit_records SET ciphertext = ? WHERE seq = ?", (bytes(changed), seq))
    rc, report = _verify(copy)
    assert rc == 1, report
    assert report["ok"] is False and report["first_bad_seq"] == seq


def test_cli_verify_names_a_deleted_record(closed_log: Path, tmp_path: Path) -> None:
    copy = _copy(closed_log, tmp_path)
    seq = _seq_of(copy, "chat.response", 0)
    with sqlite3.connect(_db_path(copy)) as conn:
        conn.execute("DELETE FROM audit_records WHERE seq = ?", (seq,))
    rc, report = _verify(copy)
    assert rc == 1, report
    assert report["ok"] is False and report["first_bad_seq"] == seq


def test_cli_verify_exits_2_when_the_key_ring_is_unreadable(closed_log: Path, tmp_path: Path) -> None:
    copy = _copy(closed_log, tmp_path)
    (copy / "keys" / "audit" / "kek-v1.key").write_bytes(b"broken")
    rc, report = _verify(copy)
    assert rc == 2, report
    assert report["ok"] is None


def test_cli_verify_exits_2_when_the_storage_url_is_bogus(closed_log: Path, tmp_path: Path) -> None:
    copy = _copy(closed_log, tmp_path)
    bogus = f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/nowhere"
    rc, report = _verify(copy, env={"GATEWAY_STORAGE__URL": bogus})
    assert rc == 2, report
    assert report["ok"] is None


# ----------------------------------------------------------------------------- 6. key ring rotation


def _decrypt_all(data_dir: Path) -> tuple[set[int], dict[int, Any]]:
    """With a fresh library instance (no cached data keys): seqs holding ciphertext, and what decrypts."""
    settings = load_settings(environ={}, overrides={"data_dir": str(data_dir)})

    async def run() -> tuple[set[int], dict[int, Any]]:
        log = await AuditLog.open(audit_settings(settings))
        try:
            records = await log.read_range(1, 2**62)
            return {r.seq for r in records if r.ciphertext is not None}, await log.decrypt_records(records)
        finally:
            await log.close()

    return asyncio.run(run())


def _kek_files(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "keys" / "audit").glob("kek-v*.key"))


def _chat(stack: Stack, prompt: str, subject: str) -> str:
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=_auth(stack.key("service"), subject),
        json=_chat_body(prompt),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return _rid(response)


def test_keyring_rotation_keeps_every_record_decryptable_and_retire_removes_the_old_kek(
    stack: Stack,
) -> None:
    data_dir = stack.gw.data_dir
    with_content, plain = _decrypt_all(data_dir)
    assert with_content and set(plain) == with_content
    old_request = stack.only("chat.request", stack.traffic["plain"])
    assert _kek_files(data_dir) == ["kek-v1.key"]

    rotated = gateway_cli("keyring", "rotate", "--json", data_dir=data_dir)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    summary = json.loads(rotated.stdout)
    assert summary["new_version"] == 2 and summary["rewrapped"] >= 1
    assert summary["versions_in_use"] == [2]
    assert _kek_files(data_dir) == ["kek-v1.key", "kek-v2.key"]

    after_rotate = _chat(stack, "written after rotation zq7", "subject-e2e-rotated-1")
    with_content, plain = _decrypt_all(data_dir)
    assert set(plain) == with_content
    new_seq = stack.only("chat.request", after_rotate)["seq"]
    assert plain[new_seq]["request"]["messages"][0]["content"] == "written after rotation zq7"
    assert plain[old_request["seq"]]["request"]["messages"][0]["content"].endswith(f"{PROMPT_MARKERS[0]} now")

    retired = gateway_cli("keyring", "rotate", "--retire-old", "--json", data_dir=data_dir)
    assert retired.returncode == 0, retired.stdout + retired.stderr
    summary = json.loads(retired.stdout)
    assert summary["new_version"] == 3 and sorted(summary["retired_versions"]) == [1, 2]
    assert _kek_files(data_dir) == ["kek-v3.key"]

    after_retire = _chat(stack, "written after retirement zq7", "subject-e2e-rotated-2")
    with_content, plain = _decrypt_all(data_dir)
    assert set(plain) == with_content
    newest = stack.only("chat.request", after_retire)["seq"]
    assert plain[newest]["request"]["messages"][0]["content"] == "written after retirement zq7"
    assert plain[new_seq]["request"]["messages"][0]["content"] == "written after rotation zq7"
    # The running gateway still serves content of old and new records.
    for seq in (old_request["seq"], new_seq, newest):
        assert stack.record(seq)["content_status"] == "ok"
    # A fresh process authenticates every ciphertext with the re-wrapped data keys.
    rc, report = _verify(data_dir)
    assert rc == 0, report
    assert report["authenticated"] == report["checked"] - report["erased"]
