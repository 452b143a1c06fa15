"""End to end: the openai SDK -> gateway process -> simulator process, over real HTTP."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from tests.conftest import MODEL, Gateway, Simulator, start_gateway, start_simulator, stop

pytestmark = pytest.mark.e2e

SUBJECT = {"X-Data-Subject": "patient-0042"}


@pytest.fixture(scope="module")
def service_key(gateway: Gateway) -> str:
    return gateway.create_key("service")


@pytest.fixture(scope="module")
def client(gateway: Gateway, service_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=service_key, max_retries=0, timeout=30)


def test_non_streaming_chat_parses_with_the_sdk(client: openai.OpenAI, simulator: Simulator) -> None:
    answer = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello there"}]
    )
    assert answer.choices[0].message.content == "Hello there"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.completion_tokens > 0


def test_streaming_chat_arrives_in_chunks_and_ends(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "one two three four five"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four five"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert chunks[-1].usage is not None and chunks[-1].choices == []


def test_usage_chunk_only_when_asked(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "no usage please"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks)


def test_completions_stream_and_not(client: openai.OpenAI) -> None:
    answer = client.completions.create(model=MODEL, prompt="plain completion text")
    assert answer.choices[0].text == "plain completion text"
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(model=MODEL, prompt="streamed completion", stream=True)
        if c.choices
    )
    assert streamed == "streamed completion"


def test_models_are_listed(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [MODEL]


def test_sglang_extras_pass_through_untouched(client: openai.OpenAI, simulator: Simulator) -> None:
    simulator.clear()
    extras = {
        "top_k": 20,
        "min_p": 0.05,
        "regex": "[a-z]+",
        "separate_reasoning": True,
        "chat_template_kwargs": {"thinking": True},
    }
    client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "extras"}], extra_body=extras
    )
    seen = simulator.requests()[-1]
    for key, value in extras.items():
        assert seen[key] == value


def test_sglang_response_fields_pass_through(gateway: Gateway, service_key: str) -> None:
    body = httpx.post(
        gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {service_key}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "fields"}]},
    ).json()
    assert "matched_stop" in body["choices"][0]
    assert "reasoning_content" in body["choices"][0]["message"]


def test_request_id_is_the_gateways_client_id_only_echoed(gateway: Gateway, service_key: str) -> None:
    response = httpx.get(
        gateway.url + "/v1/models",
        headers={"Authorization": f"Bearer {service_key}", "X-Request-Id": "trace-123"},
    )
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["x-client-request-id"] == "trace-123"


def test_health_and_readiness(gateway: Gateway) -> None:
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"engine": True, "storage": True}


def _assert_openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return error


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"model": "m", "messages": "nope"}', "application/json"),
        (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', "application/json"),
        (b'{"model": "m", "messages": [{"role": "user", "content": 7}]}', "application/json"),
        (b'{"model": "m", "messages": [{"role": "emperor", "content": "x"}]}', "application/json"),
        (b'{"model": "m", "messages": []}', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"", "application/json"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "\xff\xfe"}]}', "application/json"),
        (b"[" * 10_000 + b"]" * 10_000, "application/json"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "application/json"),
    ],
    ids=[
        "malformed",
        "messages-type",
        "model-type",
        "content-type",
        "unknown-role",
        "empty-messages",
        "not-object",
        "empty",
        "invalid-utf8",
        "nesting-10000",
        "nesting-100",
    ],
)
def test_bad_input_gets_a_clear_400(
    gateway: Gateway, service_key: str, body: bytes, content_type: str
) -> None:
    response = httpx.post(
        gateway.url + "/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {service_key}", "Content-Type": content_type},
    )
    _assert_openai_error(response, 400)


def test_huge_body_is_refused_with_413(gateway: Gateway, service_key: str) -> None:
    big = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "x" * (10 * 1024 * 1024)}]})
    response = httpx.post(
        gateway.url + "/v1/chat/completions",
        content=big,
        headers={"Authorization": f"Bearer {service_key}", "Content-Type": "application/json"},
    )
    _assert_openai_error(response, 413)


def test_unknown_route_and_method(gateway: Gateway, service_key: str) -> None:
    headers = {"Authorization": f"Bearer {service_key}"}
    _assert_openai_error(httpx.get(gateway.url + "/v1/nothing", headers=headers), 404)
    _assert_openai_error(httpx.get(gateway.url + "/v1/chat/completions", headers=headers), 405)


def test_server_keeps_serving_after_bad_input(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "still here"}])
    assert answer.choices[0].message.content == "still here"


def test_missing_or_wrong_credentials_get_401(gateway: Gateway) -> None:
    url = gateway.url + "/v1/chat/completions"
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}
    _assert_openai_error(httpx.post(url, json=body), 401)
    _assert_openai_error(httpx.post(url, json=body, headers={"Authorization": "Bearer gw_nope_nope"}), 401)


def test_logs_are_json_lines_without_content(gateway: Gateway, client: openai.OpenAI) -> None:
    marker = "Zebulon Quartermaine zq-marker-77"
    logged_before = gateway.log_text().count('"http.request"')
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": marker}])
    # The request line is written when the response ends, by another process: wait for it (whole
    # lines only) rather than sleeping a fixed time.
    deadline = time.monotonic() + 30.0
    text = gateway.log_text()
    while not (text.endswith("\n") and text.count('"http.request"') > logged_before):
        assert time.monotonic() < deadline, "the request was never logged"
        time.sleep(0.05)
        text = gateway.log_text()
    lines = [line for line in text.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line is a JSON object, library logs included
    requests = [e for e in events if e.get("event") == "http.request"]
    assert requests and {"request_id", "route", "status", "latency_ms"} <= set(requests[-1])
    assert "zq-marker-77" not in gateway.log_text()
    assert "Zebulon" not in gateway.log_text()


# ------------------------------------------------------------- timing-sensitive, own processes


@pytest.fixture(scope="module")
def slow_stack(tmp_path_factory: pytest.TempPathFactory):
    sim = start_simulator("--tpot-ms", "200")
    gw = start_gateway(tmp_path_factory.mktemp("slow"), sim.url)
    key = gw.create_key("service")
    yield sim, gw, key
    stop(gw.proc)
    stop(sim.proc)


def test_streaming_is_incremental(slow_stack) -> None:
    _sim, gw, key = slow_stack
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)
    words = " ".join(f"w{i}" for i in range(10))
    started = time.monotonic()
    arrivals = []
    for chunk in client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": words}], stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)
    # 10 tokens at 200 ms each: the whole answer takes about 2 s; the first piece must come long before.
    assert arrivals[-1] > 1.5
    assert arrivals[0] < arrivals[-1] - 1.0


def test_client_disconnect_cancels_upstream(slow_stack) -> None:
    sim, gw, key = slow_stack
    before = sim.stats()["cancelled"]
    words = " ".join(f"w{i}" for i in range(40))
    with httpx.stream(
        "POST",
        gw.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": words}], "stream": True},
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        received = 0
        for line in lines:
            if line.startswith("data:"):
                received += 1
            if received >= 3:
                break
    deadline = time.monotonic() + 30  # a bound for a lost cancellation, not a speed requirement
    while time.monotonic() < deadline and sim.stats()["cancelled"] <= before:
        time.sleep(0.1)
    assert sim.stats()["cancelled"] == before + 1


def test_serve_without_engine_url_starts_the_labelled_simulator(tmp_path) -> None:
    """`make run`'s path: no engine configured -> the simulator is started and says what it is."""
    import subprocess
    import sys

    from tests.conftest import ROOT, free_port, gateway_cli, wait_http

    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "serve",
                "--data-dir",
                str(tmp_path / "var"),
                "--port",
                str(port),
            ],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/readyz", proc, timeout=90)
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz").json()
            assert ready["engine_mode"] == "simulator"
            created = gateway_cli(
                "keys", "create", "--name", "t", "--role", "service", "--json", data_dir=tmp_path / "var"
            )
            key = json.loads(created.stdout)["key"]
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
            answer = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "ping"}]
            )
            assert answer.choices[0].message.content == "ping"
            simulators = _child_pids(proc.pid)
            assert len(simulators) == 1
        finally:
            stop(proc)
    # uvicorn ends the gateway by re-raising SIGTERM: the simulator child must not outlive it.
    _assert_exited(simulators)
    text = log_path.read_text(errors="replace")
    assert "SIMULATOR" in text and "NOT a model" in text
    assert (tmp_path / "var" / "keys").stat().st_mode & 0o077 == 0


def test_demo_prints_a_working_key_and_examples(tmp_path) -> None:
    """`gateway demo`: simulator + gateway + a dev key; the printed key really works."""
    import re
    import subprocess
    import sys

    from tests.conftest import ROOT, free_port, wait_http

    port = free_port()
    out_path = tmp_path / "demo.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "demo",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "v"),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/readyz", proc, timeout=90)
            # The key is created once /readyz answers, then printed: wait for it (bounded).
            deadline = time.monotonic() + 60
            while "Ctrl-C stops both" not in (text := out_path.read_text()) and time.monotonic() < deadline:
                time.sleep(0.1)
            key = re.search(r"gw_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", text).group(0)
            assert "curl" in text and "from openai import OpenAI" in text and "SIMULATOR" in text
            client = openai.OpenAI(
                base_url=f"http://127.0.0.1:{port}/v1",
                api_key=key,
                max_retries=0,
                default_headers={"X-Data-Subject": "patient-0001"},
            )
            answer = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "Call Jane Doe at jane.doe@example.org"}]
            )
            # The clinician gets the values restored; the engine saw only tokens.
            assert "jane.doe@example.org" in answer.choices[0].message.content
            simulators = _child_pids(proc.pid)
        finally:
            proc.kill()  # even a gateway killed outright takes its simulator with it
            proc.wait()
    _assert_exited(simulators)


def _child_pids(pid: int) -> list[int]:
    import subprocess

    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def _assert_exited(pids: list[int]) -> None:
    import time

    deadline = time.monotonic() + 30
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if _running(pid)]
    assert not alive, f"simulator processes still running: {alive}"


def _running(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes (its parent, already dead, was not ours to reap).
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"
    except FileNotFoundError:
        return False


def test_gateway_engine_sim_command_serves_the_sglang_api() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT, free_port, wait_http

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "engine", "sim", "--port", str(port), "--api-key", "k"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 401
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": "Bearer k"}).json()
        assert models["data"][0]["id"] == MODEL
    finally:
        stop(proc)


def test_two_worker_processes_share_one_audit_chain(tmp_path, redis_url: str) -> None:
    """`serve --workers 2`: both processes answer and their records form one verifiable chain."""
    import subprocess
    import sys

    from tests.conftest import ROOT, free_port, gateway_cli, wait_http

    sim = start_simulator()
    port = free_port()
    data_dir = tmp_path / "var"
    env = {**__import__("os").environ, "GATEWAY_RATELIMIT__REDIS_URL": redis_url}
    with (tmp_path / "log").open("wb") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
                "--engine-url",
                sim.url,
                "--workers",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/readyz", proc, timeout=120)
            key = json.loads(
                gateway_cli(
                    "keys", "create", "--name", "w", "--role", "service", "--json", data_dir=data_dir
                ).stdout
            )["key"]
            # Full command lines from /proc: ps cuts them to the terminal width (80 without one).
            workers = [pid for pid in _child_pids(proc.pid) if "spawn_main" in _command_line(pid)]
            assert len(workers) == 2
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                for i in range(20):
                    response = client.post(
                        "/v1/chat/completions",
                        headers={"Authorization": f"Bearer {key}"},
                        json={"model": MODEL, "messages": [{"role": "user", "content": f"n{i}"}]},
                    )
                    assert response.status_code == 200
        finally:
            stop(proc)
            stop(sim.proc)
    verify = gateway_cli("audit", "verify", "--json", data_dir=data_dir)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["ok"] is True
