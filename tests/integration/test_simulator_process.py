"""The simulator as a real process: the openai SDK parses it, and a client disconnect cancels the stream."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionUserMessageParam

from tests.conftest import MODEL, ROOT, free_port, stop, wait_http

pytestmark = pytest.mark.e2e

KEY = "sim-test-key"


@dataclass
class SimProcess:
    url: str
    proc: subprocess.Popen[bytes]
    stderr_path: Path

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, headers={"Authorization": f"Bearer {KEY}"}, trust_env=False)

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.get("/sim/stats").json()
        return stats

    def wait_for(self, key: str, value: int, timeout: float = 10.0) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        stats = self.stats()
        while time.monotonic() < deadline and stats[key] != value:
            time.sleep(0.05)
            stats = self.stats()
        return stats


def user(text: str) -> ChatCompletionUserMessageParam:
    return {"role": "user", "content": text}


def launch(tmp_path: Path, *args: str) -> SimProcess:
    port = free_port()
    stderr_path = tmp_path / f"sim-{port}.err"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "engine.simulator", "--port", str(port), *args],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", proc, timeout=30)
    except RuntimeError:
        stop(proc)
        raise
    return SimProcess(url, proc, stderr_path)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    process = launch(tmp_path_factory.mktemp("sim"), "--tpot-ms", "50", "--api-key", KEY)
    yield process
    stop(process.proc)


@pytest.fixture(scope="module")
def client(sim: SimProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.url + "/v1", api_key=KEY, max_retries=0, timeout=30)


def test_banner_says_it_is_a_simulator_and_hides_the_key(sim: SimProcess) -> None:
    banner = sim.stderr_path.read_text(errors="replace")
    assert "SIMULATOR" in banner and "NOT an inference engine" in banner
    assert KEY not in banner


def test_sdk_parses_a_non_streaming_chat_answer(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=MODEL, messages=[user("Hello there")])
    assert answer.choices[0].message.content == "Hello there"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.completion_tokens == 2


def test_sdk_parses_a_streamed_chat_answer_with_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[user("one two three")], stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert sum(1 for c in chunks if c.choices and c.choices[0].finish_reason) == 1
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


def test_sdk_parses_completions_and_models(client: openai.OpenAI) -> None:
    assert client.completions.create(model=MODEL, prompt="plain text").choices[0].text == "plain text"
    streamed = client.completions.create(model=MODEL, prompt="streamed text", stream=True)
    assert "".join(c.choices[0].text for c in streamed if c.choices) == "streamed text"
    assert [m.id for m in client.models.list()] == [MODEL]


def test_wrong_key_is_refused_by_the_sdk(sim: SimProcess) -> None:
    wrong = openai.OpenAI(base_url=sim.url + "/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()


def test_client_disconnect_cancels_the_stream(sim: SimProcess) -> None:
    before = sim.stats()
    words = " ".join(f"w{i}" for i in range(40))  # 40 tokens at 50 ms: about 2 s if never cancelled
    body = {"model": MODEL, "messages": [{"role": "user", "content": words}], "stream": True}
    with httpx.stream("POST", sim.url + "/v1/chat/completions", json=body, trust_env=False, timeout=30,
                      headers={"Authorization": f"Bearer {KEY}"}) as response:
        received = 0
        for line in response.iter_lines():
            received += line.startswith("data:")
            if received >= 2:
                break
    stats = sim.wait_for("cancelled", before["cancelled"] + 1, timeout=1.5)
    assert stats["cancelled"] == before["cancelled"] + 1
    assert stats["completed"] == before["completed"]
    assert stats["in_flight"] == 0


def test_a_finished_stream_is_not_counted_as_cancelled(sim: SimProcess, client: openai.OpenAI) -> None:
    before = sim.stats()
    list(client.chat.completions.create(model=MODEL, messages=[user("a b")], stream=True))
    stats = sim.wait_for("completed", before["completed"] + 1)
    assert stats["completed"] == before["completed"] + 1
    assert stats["cancelled"] == before["cancelled"]


def test_scripted_abort_drops_the_connection_mid_stream(sim: SimProcess) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    script = [{"content": ["one ", "two ", "three"], "abort_after": 2}]
    replaced = httpx.put(sim.url + "/sim/script", json=script, headers=headers, trust_env=False)
    assert replaced.status_code == 200
    try:
        body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": True}
        lines: list[str] = []
        with pytest.raises(httpx.RemoteProtocolError), httpx.stream(
                "POST", sim.url + "/v1/chat/completions", json=body, headers=headers, trust_env=False,
                timeout=30) as response:
            lines.extend(line for line in response.iter_lines() if line.startswith("data:"))
        assert len(lines) == 3  # the role chunk and two content chunks, then nothing
        assert sim.stats()["aborted"] >= 1
        assert "Traceback" not in sim.stderr_path.read_text(errors="replace")
    finally:
        httpx.delete(sim.url + "/sim/script", headers=headers, trust_env=False)


def test_a_bad_script_file_stops_the_process_with_a_clear_message(tmp_path: Path) -> None:
    script = tmp_path / "bad.json"
    script.write_text(json.dumps([["fine"], {"content": "not a list"}]), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "engine.simulator", "--port", str(free_port()),
                             "--script", str(script)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "answer 1" in result.stderr and str(script) in result.stderr
