"""The app's own machinery, in process: request context before routing, identity middleware,
the guard's policy snapshot, injected services, typed admin bodies, OpenAPI behind a permission,
and shutdown draining background work."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Request, get
from litestar.testing import TestClient
from structlog.testing import capture_logs

from gateway.app import OPENAPI_PERMISSION, create_app
from gateway.dependencies import PolicyDep, ServicesDep
from gateway.guards import record_decision
from gateway.services import Services
from gateway.settings import load_settings
from policies.bundle import DEFAULT_POLICY_DIR, load_policy_bundle

SECRET = "415-555-0132"
ROLES = ("service", "auditor", "admin")


def _settings(data_dir: Path) -> Any:
    return load_settings(
        environ={},
        overrides={
            "data_dir": str(data_dir),
            "engine": {"urls": ["http://127.0.0.1:1"]},  # nothing here talks to the engine
            "pii": {"enabled": False},
        },
    )


@get("/test/snapshot", opt={"permission": "keys:manage"})
async def _snapshot(
    request: Request[Any, Any, Any], services: ServicesDep, policy: PolicyDep
) -> dict[str, bool]:
    await asyncio.to_thread(services.policies.reload)  # a reload in the middle of the request
    return {
        "same_as_guard": policy is request.state.policy,
        "live_policy_moved_on": services.policy is not policy,
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    app = create_app(_settings(tmp_path_factory.mktemp("machinery")))
    app.register(_snapshot)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keys(client: TestClient[Any]) -> dict[str, str]:
    services: Services = client.app.state.services
    out: dict[str, str] = {}

    async def make() -> None:
        for role in ROLES:
            _, plaintext = await services.keys.create(f"machinery-{role}", [role])
            out[role] = plaintext

    client.blocking_portal.call(make)
    return out


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ----------------------------------------------------------------------------- request context


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/no/such/route", 404), ("DELETE", "/healthz", 405)]
)
def test_unrouted_requests_get_the_request_id_and_an_access_line(
    client: TestClient[Any], method: str, path: str, status: int
) -> None:
    with capture_logs() as logs:
        response = client.request(method, path, headers={"X-Request-Id": "trace-1"})
    assert response.status_code == status
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_") and response.headers["x-client-request-id"] == "trace-1"
    lines = [entry for entry in logs if entry["event"] == "http.request"]
    assert [(line["request_id"], line["status"]) for line in lines] == [(request_id, status)]


def test_duplicated_authorization_is_refused_by_the_app_itself(
    client: TestClient[Any], keys: dict[str, str]
) -> None:
    # Raw ASGI: HTTP clients fold repeated headers into one before the app could see two.
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/models",
        "raw_path": b"/v1/models",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"authorization", f"Bearer {keys['admin']}".encode()),
            (b"authorization", b"Bearer x"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    client.blocking_portal.call(client.app, scope, receive, send)
    start, body = sent[0], sent[-1]
    assert start["status"] == 400 and b'"duplicate_header"' in body["body"]
    assert next(v for k, v in start["headers"] if k == b"x-request-id").startswith(b"req_")


def test_an_outer_copy_of_the_request_middleware_adds_nothing(client: TestClient[Any]) -> None:
    """Until every entry point stops wrapping the app, a second copy must not give a second id."""
    from gateway.middleware import request_context_middleware

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    wrapped: Any = request_context_middleware(client.app)  # the raw ASGI callable, dict events
    with capture_logs() as logs:
        client.blocking_portal.call(wrapped, scope, receive, send)
    assert sent[0]["status"] == 200
    assert len([k for k, _v in sent[0]["headers"] if k == b"x-request-id"]) == 1
    assert len([entry for entry in logs if entry["event"] == "http.request"]) == 1


# ----------------------------------------------------------------------------- identity and policy


def test_health_needs_no_credential(client: TestClient[Any]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_the_access_line_names_the_authenticated_principal(
    client: TestClient[Any], keys: dict[str, str]
) -> None:
    services: Services = client.app.state.services
    key_id = client.blocking_portal.call(services.keys.authenticate, keys["auditor"]).id
    with capture_logs() as logs:
        assert client.get("/audit/verify", headers=_auth(keys["auditor"])).status_code == 200
    assert [entry["principal"] for entry in logs if entry["event"] == "http.request"] == [key_id]


def test_a_request_keeps_the_policy_the_guard_took(client: TestClient[Any], keys: dict[str, str]) -> None:
    response = client.get("/test/snapshot", headers=_auth(keys["admin"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"same_as_guard": True, "live_policy_moved_on": True}


# ----------------------------------------------------------------------------- typed admin bodies


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": 5, "roles": ["service"]}, "name"),
        ({"name": "x", "roles": "service"}, "roles"),
        ({"name": "x", "roles": ["service"], "expires_in_days": 10**9}, "expires_in_days"),
        ({"name": "x", "roles": ["service"], "expires_in_days": 0}, "expires_in_days"),
        ({"roles": ["service"]}, "name"),
    ],
)
def test_bad_key_bodies_are_400_naming_the_field(
    client: TestClient[Any], keys: dict[str, str], body: dict[str, Any], param: str
) -> None:
    response = client.post("/admin/keys", headers=_auth(keys["admin"]), json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"


def test_an_unknown_body_field_is_refused_without_echoing_its_name(
    client: TestClient[Any], keys: dict[str, str]
) -> None:
    response = client.post(
        "/admin/keys",
        headers=_auth(keys["admin"]),
        json={"name": "x", "roles": ["service"], f"John Smith {SECRET}": 1},
    )
    assert response.status_code == 400
    assert SECRET not in response.text and "John" not in response.text


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=501"])
def test_bad_paging_is_400_naming_the_parameter_not_the_url(
    client: TestClient[Any], keys: dict[str, str], query: str
) -> None:
    response = client.get(f"/admin/keys?{query}&name={SECRET}", headers=_auth(keys["admin"]))
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit" and SECRET not in response.text


def test_created_key_answer_keeps_its_shape(client: TestClient[Any], keys: dict[str, str]) -> None:
    response = client.post(
        "/admin/keys", headers=_auth(keys["admin"]), json={"name": "shape", "roles": ["service"]}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("gw_") and body["status"] == "active" and body["roles"] == ["service"]
    assert body["created_at"].endswith("+00:00")  # ISO 8601 as datetime.isoformat writes it
    listed = client.get("/admin/keys", headers=_auth(keys["admin"])).json()
    assert body["id"] in {item["id"] for item in listed["data"]}
    assert all("key" not in item for item in listed["data"])


# ----------------------------------------------------------------------------- OpenAPI


def test_default_admin_role_may_read_the_api_description() -> None:
    policy = load_policy_bundle(DEFAULT_POLICY_DIR, None).rbac
    assert OPENAPI_PERMISSION in policy.roles["admin"].permissions


@pytest.mark.parametrize("path", ["/schema", "/schema/openapi.json"])
def test_openapi_needs_a_credential_and_the_permission(
    client: TestClient[Any], keys: dict[str, str], path: str
) -> None:
    assert client.get(path).status_code == 401
    for role in ("service", "auditor"):
        denied = client.get(path, headers=_auth(keys[role]))
        assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"
    allowed = client.get(path, headers=_auth(keys["admin"]))
    assert allowed.status_code == 200
    paths = allowed.json()["paths"]
    assert {"/v1/chat/completions", "/v1/completions", "/v1/models", "/admin/keys"} <= set(paths)
    assert not any(p.startswith("/schema") for p in paths)


OPENAI_PATHS = {
    ("/v1/chat/completions", "post"): "Create a chat completion",
    ("/v1/completions", "post"): "Create a text completion",
    ("/v1/models", "get"): "List the models the caller may use",
}
PIPELINE_ERRORS = {"400", "401", "403", "404", "413", "415", "429", "502", "503"}


@pytest.fixture(scope="module")
def api_document(client: TestClient[Any], keys: dict[str, str]) -> dict[str, Any]:
    response = client.get("/schema/openapi.json", headers=_auth(keys["admin"]))
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


def test_openai_routes_are_described_with_summary_and_pipeline(api_document: dict[str, Any]) -> None:
    for (path, method), summary in OPENAI_PATHS.items():
        operation = api_document["paths"][path][method]
        assert operation["summary"] == summary
        assert operation["description"]
    chat = api_document["paths"]["/v1/chat/completions"]["post"]
    for duty in ("audit", "redact", "output filter", "X-Data-Subject", "text/event-stream"):
        assert duty in chat["description"]
    assert any(p["name"] == "X-Data-Subject" and p["in"] == "header" for p in chat["parameters"])


@pytest.mark.parametrize(
    ("path", "fields"),
    [("/v1/chat/completions", {"model", "messages"}), ("/v1/completions", {"model", "prompt"})],
)
def test_request_bodies_are_described_and_open_to_other_fields(
    api_document: dict[str, Any], path: str, fields: set[str]
) -> None:
    body = api_document["paths"][path]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is True and set(schema["required"]) == fields
    assert {"stream", "stream_options", "max_tokens", "temperature"} <= set(schema["properties"])
    assert schema["additionalProperties"] is True  # unknown SGLang fields are forwarded


def test_chat_messages_take_a_role_and_string_or_text_part_content(api_document: dict[str, Any]) -> None:
    schema = api_document["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    message = schema["properties"]["messages"]["items"]
    assert message["required"] == ["role"] and "user" in message["properties"]["role"]["enum"]
    content = message["properties"]["content"]["anyOf"]
    assert {"type": "string"} in content
    part = next(option["items"] for option in content if option.get("type") == "array")
    assert part["properties"]["type"]["enum"] == ["text"]


@pytest.mark.parametrize(
    ("path", "answer", "object_name"),
    [
        ("/v1/chat/completions", "ChatCompletion", "chat.completion"),
        ("/v1/completions", "TextCompletion", "text_completion"),
    ],
)
def test_completions_answer_json_or_an_event_stream(
    api_document: dict[str, Any], path: str, answer: str, object_name: str
) -> None:
    ok = api_document["paths"][path]["post"]["responses"]["200"]["content"]
    assert set(ok) == {"application/json", "text/event-stream"}
    json_answer = _resolve(api_document, ok["application/json"]["schema"])
    assert json_answer["title"] == answer and json_answer["properties"]["object"]["const"] == object_name


def test_models_answer_a_model_list(api_document: dict[str, Any]) -> None:
    ok = api_document["paths"]["/v1/models"]["get"]["responses"]["200"]["content"]
    listing = _resolve(api_document, ok["application/json"]["schema"])
    assert set(listing["properties"]) == {"object", "data"}


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/v1/chat/completions", "post", PIPELINE_ERRORS),
        ("/v1/completions", "post", PIPELINE_ERRORS),
        ("/v1/models", "get", {"400", "401", "403", "503"}),
    ],
)
def test_error_answers_are_described_in_the_openai_error_shape(
    api_document: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    responses = api_document["paths"][path][method]["responses"]
    assert set(responses) - {"200"} == statuses
    for status in statuses:
        error = _resolve(api_document, responses[status]["content"]["application/json"]["schema"])
        detail = _resolve(api_document, error["properties"]["error"])
        assert set(detail["properties"]) == {"message", "type", "param", "code"}
    if "429" in statuses:
        assert responses["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"


# ----------------------------------------------------------------------------- shutdown


def test_shutdown_waits_for_background_audit_records(tmp_path: Path) -> None:
    """A record still being written when the app stops is committed before the audit log closes."""
    settings = _settings(tmp_path)
    with TestClient(create_app(settings)) as test_client:
        services: Services = test_client.app.state.services

        async def late_record() -> None:
            await asyncio.sleep(0.05)  # still running when shutdown begins
            await record_decision(services, "req_late", None, "allow", "test.late", {})

        async def start() -> None:
            task = asyncio.get_running_loop().create_task(late_record())
            services.background.add(task)
            task.add_done_callback(services.background.discard)

        test_client.blocking_portal.call(start)
    with sqlite3.connect(f"file:{settings.data_path / 'gateway.db'}?mode=ro", uri=True) as db:
        kinds = [row[0] for row in db.execute("SELECT kind FROM audit_records WHERE request_id = 'req_late'")]
    assert kinds == ["test.late"]
