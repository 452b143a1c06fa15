"""Names the model produces on its own: redacted in whole answers (NER), in streams by the name
rules around each name in progress (``pii.stream_names``, the default) or, with ``pii.stream_ner``,
by NER clause by clause; with both off streams look for structured identifiers only."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.conftest import MODEL, Gateway, Simulator, start_gateway, start_simulator, stop

pytestmark = pytest.mark.e2e

ANSWER = ["The chart was reviewed by Margaret Thompson", " yesterday; call 415-555-0178 with questions."]
# The same answer cut inside the name and inside the number.
SPLIT_ANSWER = [
    "The chart was reviewed by Marg",
    "aret Thom",
    "pson yesterday; call 415-5",
    "55-0178 with questions.",
]
# A Chinese answer cut inside the name.
SPLIT_CHINESE = ["患者张", "伟今天来复诊，", "请按时服药。"]


Stack = tuple[Simulator, Gateway, str]


def _scripted_stack(
    tmp_path_factory: pytest.TempPathFactory, answers: list[list[str]], env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """A simulator answering ``answers`` in turn (each a list of stream chunks), a gateway with
    ``env`` in front of it, and a ``service`` key."""
    script = tmp_path_factory.mktemp("s") / "script.json"
    script.write_text(json.dumps(answers))
    sim = start_simulator("--mode", "script", "--script", str(script))
    gw = start_gateway(tmp_path_factory.mktemp("gw"), sim.url, env)
    yield sim, gw, gw.create_key("service")
    stop(gw.proc)
    stop(sim.proc)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _scripted_stack(tmp_path_factory, [ANSWER])


def _ask(gw: Gateway, key: str, stream: bool) -> str:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Who reviewed it?"}], "stream": stream}
    headers = {"Authorization": f"Bearer {key}"}
    if not stream:
        return httpx.post(gw.url + "/v1/chat/completions", json=body, headers=headers).json()["choices"][0][
            "message"
        ]["content"]
    text = ""
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json=body, headers=headers) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                chunk = json.loads(line[6:])
                for choice in chunk.get("choices") or ():
                    text += (choice.get("delta") or {}).get("content") or ""
    return text


def test_whole_answer_redacts_a_name_and_a_number_the_model_produced(stack) -> None:
    _sim, gw, key = stack
    text = _ask(gw, key, stream=False)
    assert "Margaret Thompson" not in text and "415-555-0178" not in text
    assert "[REDACTED_PERSON]" in text and "yesterday" in text


def test_stream_redacts_a_name_and_a_number_the_model_produced(stack) -> None:
    _sim, gw, key = stack
    text = _ask(gw, key, stream=True)
    assert "Margaret Thompson" not in text and "415-555-0178" not in text
    assert text == (
        "The chart was reviewed by [REDACTED_PERSON] yesterday; call [REDACTED_PHONE_NUMBER] with questions."
    )


def _stream_parts(gw: Gateway, key: str) -> list[str]:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Who reviewed it?"}], stream=True
    )
    return [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]


@pytest.fixture(scope="module")
def names_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _scripted_stack(tmp_path_factory, [SPLIT_ANSWER, SPLIT_CHINESE])


def test_by_default_a_name_split_across_chunks_is_held_alone_and_redacted(names_stack) -> None:
    _sim, gw, key = names_stack
    parts = _stream_parts(gw, key)
    assert "".join(parts) == (
        "The chart was reviewed by [REDACTED_PERSON] yesterday; call [REDACTED_PHONE_NUMBER] with questions."
    )
    # Only the name in progress was held: the words before it went out before the name arrived.
    assert next(part for part in parts if part) == "The chart was reviewed by ", parts
    chinese = "".join(_stream_parts(gw, key))
    assert "张伟" not in chinese and "伟" not in chinese
    assert chinese.startswith("患者[REDACTED_PERSON]今天来复诊，"), chinese


@pytest.fixture(scope="module")
def identifiers_only_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _scripted_stack(tmp_path_factory, [ANSWER], {"GATEWAY_PII__STREAM_NAMES": "false"})


def test_with_stream_names_off_streams_look_for_identifiers_only(identifiers_only_stack) -> None:
    _sim, gw, key = identifiers_only_stack
    text = _ask(gw, key, stream=True)
    assert "415-555-0178" not in text and "Margaret Thompson" in text


@pytest.fixture(scope="module")
def ner_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _scripted_stack(tmp_path_factory, [SPLIT_ANSWER], {"GATEWAY_PII__STREAM_NER": "true"})


def test_with_stream_ner_a_name_split_across_chunks_is_redacted_in_the_stream(ner_stack) -> None:
    _sim, gw, key = ner_stack
    parts = _stream_parts(gw, key)
    text = "".join(parts)
    assert "Margaret" not in text and "Thompson" not in text and "415-555-0178" not in text
    assert text == (
        "The chart was reviewed by [REDACTED_PERSON] yesterday; call [REDACTED_PHONE_NUMBER] with questions."
    )
    # Released clause by clause, not held to the end: the first clause went out on its own.
    first = next(part for part in parts if part)
    assert first.startswith("The chart was reviewed by [REDACTED_PERSON] yesterday;"), parts
    assert "questions" not in first, parts
