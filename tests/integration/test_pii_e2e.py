"""PII redaction end to end: the openai SDK -> gateway process -> simulator process.

What the simulator records (``GET /sim/requests``) is what a model would have seen, so every
assertion about redaction is made there: no original value may reach it, clinical facts must.
All personal data here is synthetic (tests/pii_corpus.py generators, check digits valid).
"""

from __future__ import annotations

import json
import random
import re
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from litestar.testing import TestClient

from gateway.app import create_app
from gateway.settings import load_settings
from policies.errors import DetectionUnavailable
from tests import pii_corpus
from tests.conftest import MODEL, Gateway, Simulator, gateway_cli, start_gateway, start_simulator, stop

pytestmark = pytest.mark.e2e

SUBJECT = {"X-Data-Subject": "patient-0012345"}

# ----------------------------------------------------------------------------- synthetic values

_rng = random.Random(20240501)
EN_NAME = "John Smith"
EMAIL = "john.smith@example.com"
PHONE, _ = pii_corpus.us_phone(_rng)
ZH_NAME = "王秀英"
CN_ID = pii_corpus.cn_id(_rng)
UNIONPAY = pii_corpus.unionpay_card(_rng)
IBAN = pii_corpus.iban(_rng)
MRN = "MRN-0012345"
CLINICAL_FACTS = ("Metformin 500 mg", "HbA1c 7.2%", "血压 130/85 mmHg")

# Evasion forms: full-width digits, zero-width characters inside a phone number, spaced digit groups.
FULLWIDTH_PHONE = pii_corpus.fullwidth("(415) 555-0137")
ZERO_WIDTH_PHONE = "617\u200b-55\u200d5-01\u206042"
_SPACED_CARD_VALUE = pii_corpus.unionpay_card(_rng)
SPACED_CARD = " ".join(_SPACED_CARD_VALUE[i : i + 4] for i in range(0, len(_SPACED_CARD_VALUE), 4))

ORIGINALS = (EN_NAME, "Smith", EMAIL, PHONE, ZH_NAME, CN_ID, UNIONPAY, IBAN, MRN)
EVASIONS = (FULLWIDTH_PHONE, ZERO_WIDTH_PHONE, SPACED_CARD)

PROMPT = (
    f"Patient {EN_NAME} (email {EMAIL}, phone {PHONE}) and his mother {ZH_NAME}, "
    f"身份证号 {CN_ID}. UnionPay card {UNIONPAY}, IBAN {IBAN}, record {MRN}. "
    f"Current medication: {CLINICAL_FACTS[0]}; latest {CLINICAL_FACTS[1]}; {CLINICAL_FACTS[2]}."
)
EVASION_PROMPT = (
    f"Also reachable at {FULLWIDTH_PHONE} or {ZERO_WIDTH_PHONE}; "
    f"backup card {SPACED_CARD}. {CLINICAL_FACTS[0]} continues."
)

_INVISIBLE = dict.fromkeys(map(ord, pii_corpus.ZERO_WIDTH))


def _canonical(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def _digits(text: str) -> str:
    return "".join(ch for ch in _canonical(text) if ch.isdigit())


def _strings(value: Any) -> list[str]:
    """Every string anywhere in a JSON value (message contents, parts, names, tool arguments...)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _seen_texts(request: dict[str, Any]) -> list[str]:
    return _strings({k: v for k, v in request.items() if k in ("messages", "prompt", "suffix")})


def _assert_nothing_leaked(values: tuple[str, ...], request: dict[str, Any]) -> None:
    texts = _seen_texts(request)
    assert texts, "the engine saw no text at all"
    for text in texts:
        canonical = _canonical(text)
        digits = _digits(text)
        for value in values:
            assert _canonical(value) not in canonical, "an original value reached the engine"
            value_digits = _digits(value)
            if len(value_digits) >= 7:
                assert value_digits not in digits, "the digits of an original value reached the engine"


def _assert_has_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    return error


# ----------------------------------------------------------------------------- processes

SITE_ROLES = """
roles:
  intake:
    description: Front-desk intake form; strict PII profile
    permissions: [chat, completions, models:list]
    pii_profile: strict
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = start_simulator()
    yield simulator
    stop(simulator.proc)


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("site-policy")
    (directory / "roles.yaml").write_text(SITE_ROLES)
    return directory


@pytest.fixture(scope="module")
def gw(sim: Simulator, policy_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(tmp_path_factory.mktemp("gw"), sim.url, None, "--policy-dir", str(policy_dir))
    yield gateway
    stop(gateway.proc)


@pytest.fixture(scope="module")
def keys(gw: Gateway, policy_dir: Path) -> dict[str, str]:
    made = {role: gw.create_key(role) for role in ("clinician", "service")}
    result = gateway_cli(
        "keys", "create", "--name", "test-intake", "--role", "intake", "--json",
        data_dir=gw.data_dir,
        env={"GATEWAY_POLICY__DIR": str(policy_dir)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    made["intake"] = json.loads(result.stdout)["key"]
    return made


def _sdk(gw: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0, timeout=30)


def _chat(client: openai.OpenAI, messages: list[dict[str, Any]], **extra: Any) -> str:
    answer = client.chat.completions.create(model=MODEL, messages=messages, **extra)  # type: ignore[arg-type]
    return answer.choices[0].message.content or ""


def _one_request(sim: Simulator) -> dict[str, Any]:
    seen = sim.requests()
    assert len(seen) == 1, f"expected exactly one engine request, got {len(seen)}"
    return seen[0]


# ----------------------------------------------------------------------------- 1. nothing reaches the engine


def test_no_original_value_reaches_the_engine_and_clinical_facts_do(
    gw: Gateway, sim: Simulator, keys: dict[str, str]
) -> None:
    sim.clear()
    _chat(_sdk(gw, keys["clinician"]), [{"role": "user", "content": PROMPT}], extra_headers=SUBJECT)
    seen = _one_request(sim)
    _assert_nothing_leaked(ORIGINALS, seen)
    content = seen["messages"][0]["content"]
    for fact in CLINICAL_FACTS:
        assert fact in content, f"clinical fact {fact!r} did not arrive untouched"
    for token_type in (
        "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CN_ID_CARD", "CREDIT_CARD", "IBAN_CODE",
        "MEDICAL_RECORD_NUMBER",
    ):  # fmt: skip
        assert re.search(rf"\[{token_type}_\d+\]", content), f"no {token_type} pseudonym in the prompt"


def test_evasion_forms_are_stripped_before_the_engine(
    gw: Gateway, sim: Simulator, keys: dict[str, str]
) -> None:
    sim.clear()
    _chat(_sdk(gw, keys["service"]), [{"role": "user", "content": EVASION_PROMPT}])
    seen = _one_request(sim)
    _assert_nothing_leaked(EVASIONS, seen)
    content = seen["messages"][0]["content"]
    assert len(set(re.findall(r"\[PHONE_NUMBER_\d+\]", content))) == 2
    assert re.search(r"\[CREDIT_CARD_\d+\]", content)
    assert CLINICAL_FACTS[0] in content


BANKING_PROMPT = (
    "Customer Jane Parker, SSN 123-45-6789, wants the refund sent to routing 021000021, account "
    "483920117 (sort code 20-45-77 for her UK account). Passport number X12345678. Her e-mail is "
    "jane [dot] parker [at] mail [dot] com; last seen at 37.7749° N, 122.4194° W, from a laptop "
    "with MAC 20:c7:51:24:47:e3."
)
BANKING_VALUES = (
    "123-45-6789", "021000021", "483920117", "20-45-77", "X12345678", "parker [at]", "37.7749", "122.4194",
    "20:c7:51",
)  # fmt: skip


def test_accounts_passports_obfuscated_emails_and_coordinates_never_reach_the_engine(
    gw: Gateway, sim: Simulator, keys: dict[str, str]
) -> None:
    sim.clear()
    _chat(_sdk(gw, keys["service"]), [{"role": "user", "content": BANKING_PROMPT}])
    seen = _one_request(sim)
    _assert_nothing_leaked(BANKING_VALUES, seen)
    content = seen["messages"][0]["content"]
    for token_type in ("US_SSN", "BANK_ACCOUNT", "PASSPORT", "EMAIL_ADDRESS", "LOCATION", "DEVICE_ID"):
        assert re.search(rf"\[{token_type}_\d+\]", content), f"no {token_type} pseudonym in the prompt"


# ----------------------------------------------------------------------------- 2. prefix-stable tokens


def test_second_turn_resending_history_gets_the_same_tokens(
    gw: Gateway, sim: Simulator, keys: dict[str, str]
) -> None:
    client = _sdk(gw, keys["clinician"])
    sim.clear()
    first_answer = _chat(client, [{"role": "user", "content": PROMPT}], extra_headers=SUBJECT)
    first = _one_request(sim)["messages"]
    assert first_answer == PROMPT  # echo, restored for the clinician

    follow_up = f"Call {EN_NAME} at {PHONE} tomorrow; his new address is mary.jones@example.org."
    sim.clear()
    second_answer = _chat(
        client,
        [
            {"role": "user", "content": PROMPT},
            {"role": "assistant", "content": first_answer},
            {"role": "user", "content": follow_up},
        ],
        extra_headers=SUBJECT,
    )
    second = _one_request(sim)["messages"]
    assert second_answer == follow_up
    _assert_nothing_leaked((*ORIGINALS, "mary.jones@example.org"), {"messages": second})
    assert second[0]["content"] == first[0]["content"], "the first turn's tokens changed"
    # The restored answer carries the same values, so it must get the same tokens again.
    assert second[1]["content"] == first[0]["content"]
    name_token = re.search(r"Patient (\[PERSON_\d+\])", first[0]["content"])
    phone_token = re.search(r"phone (\[PHONE_NUMBER_\d+\])", first[0]["content"])
    email_token = re.search(r"email (\[EMAIL_ADDRESS_\d+\])", first[0]["content"])
    assert name_token and phone_token and email_token
    new_text = second[2]["content"]
    assert name_token.group(1) in new_text and phone_token.group(1) in new_text
    new_email = re.search(r"\[EMAIL_ADDRESS_\d+\]", new_text)
    assert new_email and new_email.group(0) != email_token.group(1), "a new value reused an old token"


# ------------------------------------------------------------------------- 3. restore only with pii:unmask


def test_clinician_sees_originals_restored_and_service_keeps_tokens(
    gw: Gateway, sim: Simulator, keys: dict[str, str]
) -> None:
    sim.clear()
    clinician_answer = _chat(
        _sdk(gw, keys["clinician"]), [{"role": "user", "content": PROMPT}], extra_headers=SUBJECT
    )
    clinician_seen = _one_request(sim)["messages"][0]["content"]
    assert clinician_answer == PROMPT
    for value in ORIGINALS:
        assert value in clinician_answer

    sim.clear()
    service_answer = _chat(_sdk(gw, keys["service"]), [{"role": "user", "content": PROMPT}])
    service_seen = _one_request(sim)["messages"][0]["content"]
    assert service_answer == service_seen == clinician_seen
    assert "[PERSON_" in service_answer and "[CN_ID_CARD_" in service_answer
    _assert_nothing_leaked(ORIGINALS, {"messages": [{"content": service_answer}]})


# ----------------------------------------------------------------------------- 4. every text field is scanned


def test_every_chat_text_field_is_scanned(gw: Gateway, sim: Simulator, keys: dict[str, str]) -> None:
    values = {
        "system": "sys.owner@example.com",
        "part": "part.writer@example.net",
        "tool_args": "args.person@example.org",
        "tool_result": "result.holder@example.com",
        "name": "Mary Johnson",
    }
    messages = [
        {"role": "system", "content": f"You assist the ward. Escalate to {values['system']}."},
        {
            "role": "user",
            "name": values["name"],
            "content": [
                {"type": "text", "text": f"Please look up {values['part']}."},
                {"type": "text", "text": f"Second part: {MRN}, {CLINICAL_FACTS[1]}."},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "lookup_patient",
                        "arguments": json.dumps({"email": values["tool_args"], "phone": PHONE}),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": f"Found: {values['tool_result']}, {CN_ID}"},
        {"role": "user", "content": "Summarize."},
    ]
    sim.clear()
    _chat(_sdk(gw, keys["service"]), messages)
    seen = _one_request(sim)
    _assert_nothing_leaked((*values.values(), "Johnson", MRN, PHONE, CN_ID), seen)
    out = seen["messages"]
    assert "[EMAIL_ADDRESS_" in out[0]["content"]
    assert out[1]["content"][0]["text"].startswith("Please look up [EMAIL_ADDRESS_")
    assert CLINICAL_FACTS[1] in out[1]["content"][1]["text"]
    assert "[PERSON_" in out[1]["name"]
    arguments = json.loads(out[2]["tool_calls"][0]["function"]["arguments"])
    assert re.fullmatch(r"\[EMAIL_ADDRESS_\d+\]", arguments["email"])
    assert re.fullmatch(r"\[PHONE_NUMBER_\d+\]", arguments["phone"])
    assert out[2]["tool_calls"][0]["function"]["name"] == "lookup_patient"
    assert "[CN_ID_CARD_" in out[3]["content"] and out[3]["tool_call_id"] == "call_1"


def test_completion_prompts_as_string_and_list_are_scanned(
    gw: Gateway, sim: Simulator, keys: dict[str, str]
) -> None:
    client = _sdk(gw, keys["service"])
    sim.clear()
    answer = client.completions.create(model=MODEL, prompt=f"Note for {EMAIL}: {CLINICAL_FACTS[0]}")
    seen = _one_request(sim)
    _assert_nothing_leaked((EMAIL,), seen)
    assert re.fullmatch(r"Note for \[EMAIL_ADDRESS_\d+\]: Metformin 500 mg", seen["prompt"])
    assert EMAIL not in answer.choices[0].text

    sim.clear()
    client.completions.create(model=MODEL, prompt=[f"First {EMAIL}", f"Second {CN_ID} and {IBAN}"])
    seen = _one_request(sim)
    _assert_nothing_leaked((EMAIL, CN_ID, IBAN), seen)
    assert isinstance(seen["prompt"], list) and len(seen["prompt"]) == 2
    assert "[CN_ID_CARD_" in seen["prompt"][1] and "[IBAN_CODE_" in seen["prompt"][1]


# ----------------------------------------------------------------------------- 5. block action


def test_block_profile_refuses_with_entity_types_and_never_the_value(
    gw: Gateway, sim: Simulator, keys: dict[str, str]
) -> None:
    sim.clear()
    response = httpx.post(
        gw.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {keys['intake']}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": f"ID {CN_ID}, mail {EMAIL}"}]},
        timeout=30,
    )
    error = _assert_has_error(response, 400, "pii_blocked")
    assert error["type"] == "invalid_request_error"
    assert sim.requests() == [], "a blocked request reached the engine"
    assert CN_ID not in response.text and _digits(CN_ID) not in _digits(response.text)
    assert EMAIL not in response.text
    assert "CN_ID_CARD" in response.text, "the refusal must name the blocked entity types"
    assert "EMAIL_ADDRESS" not in response.text, "only blocked entity types are named"


def test_strict_profile_redacts_what_it_does_not_block(
    gw: Gateway, sim: Simulator, keys: dict[str, str]
) -> None:
    sim.clear()
    answer = _chat(_sdk(gw, keys["intake"]), [{"role": "user", "content": f"Contact {EMAIL} today."}])
    seen = _one_request(sim)
    assert seen["messages"][0]["content"] == "Contact [REDACTED_EMAIL_ADDRESS] today."
    assert answer == "Contact [REDACTED_EMAIL_ADDRESS] today."


# ----------------------------------------------------------------------------- 7. data subject


def test_clinician_without_data_subject_is_refused_before_the_engine(
    gw: Gateway, sim: Simulator, keys: dict[str, str]
) -> None:
    sim.clear()
    with pytest.raises(openai.BadRequestError) as info:
        _chat(_sdk(gw, keys["clinician"]), [{"role": "user", "content": PROMPT}])
    assert info.value.code == "data_subject_required"
    response = httpx.post(
        gw.url + "/v1/completions",
        headers={"Authorization": f"Bearer {keys['clinician']}"},
        json={"model": MODEL, "prompt": "hello"},
        timeout=30,
    )
    _assert_has_error(response, 400, "data_subject_required")
    assert sim.requests() == []


# ----------------------------------------------------------------------------- 6. fail closed (in process)

# Ordinary requests run real detection: a limit no loaded machine reaches, so they never time out.
ORDINARY_TIMEOUT_S = 60.0
# The timeout tests inject a detector that blocks until released, so it cannot finish first
# however short this is; real detection never runs under it.
SHORT_TIMEOUT_S = 0.5


def _in_process_app(sim: Simulator, data_dir: Path, **pii: Any) -> Iterator[TestClient]:
    """The gateway app in this process, in front of ``sim``, with the given ``pii`` settings."""
    settings = load_settings(
        environ={},
        overrides={"data_dir": str(data_dir), "engine": {"urls": [sim.url]}, "pii": pii},
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _app_key_for(client: TestClient, name: str) -> str:
    services = client.app.state.services

    async def make() -> str:
        _, plaintext = await services.keys.create(name, ["service"])
        return str(plaintext)

    return str(client.blocking_portal.call(make))


@pytest.fixture(scope="module")
def app_client(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from _in_process_app(sim, tmp_path_factory.mktemp("failclosed"), timeout_s=ORDINARY_TIMEOUT_S)


@pytest.fixture(scope="module")
def short_app_client(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # inline_max_chars 0: every step goes to a pool thread, whose time bound is under test.
    yield from _in_process_app(
        sim, tmp_path_factory.mktemp("timeout"), timeout_s=SHORT_TIMEOUT_S, inline_max_chars=0
    )


@pytest.fixture(scope="module")
def app_key(app_client: TestClient) -> str:
    return _app_key_for(app_client, "failclosed-service")


def _app_chat(client: TestClient, key: str) -> Any:
    return client.post(
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": f"Write to {EMAIL}"}]},
    )


def test_in_process_app_forwards_when_the_detector_works(
    app_client: TestClient, app_key: str, sim: Simulator
) -> None:
    sim.clear()
    response = _app_chat(app_client, app_key)
    assert response.status_code == 200, response.text
    assert re.fullmatch(r"Write to \[EMAIL_ADDRESS_\d+\]", _one_request(sim)["messages"][0]["content"])


def test_detector_failure_refuses_with_503_and_forwards_nothing(
    app_client: TestClient, app_key: str, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(texts: Any) -> Any:
        raise RuntimeError("detector crashed")

    monkeypatch.setattr(app_client.app.state.services.detector, "detect_many", broken)
    sim.clear()
    response = _app_chat(app_client, app_key)
    error = _assert_has_error(response, 503, "pii_detection_unavailable")
    assert "crashed" not in error["message"] and EMAIL not in response.text
    assert sim.requests() == []


class _BlockedDetection:
    """A detection step that waits until the test releases it: it cannot beat any time limit."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.release = threading.Event()
        self.returned = threading.Event()

    def __call__(self, texts: Any) -> Any:
        self.release.wait(timeout=120)
        try:
            return self.real(texts)
        finally:
            self.returned.set()


def test_detector_timeout_refuses_with_503_and_forwards_nothing(
    short_app_client: TestClient, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _app_key_for(short_app_client, "timeout-service")
    detector = short_app_client.app.state.services.detector
    blocked = _BlockedDetection(detector.detect_many)
    monkeypatch.setattr(detector, "detect_many", blocked)
    sim.clear()
    try:
        response = _app_chat(short_app_client, key)
        # Answered while the detection step is still blocked: the gateway did not wait for it.
        assert not blocked.returned.is_set()
        _assert_has_error(response, 503, "pii_detection_unavailable")
    finally:
        blocked.release.set()
    assert blocked.returned.wait(timeout=60)
    assert sim.requests() == []  # the abandoned step finished: nothing was forwarded late


@pytest.fixture(scope="module")
def ner_app_client(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from _in_process_app(
        sim, tmp_path_factory.mktemp("streamner"), timeout_s=ORDINARY_TIMEOUT_S, stream_ner=True
    )


@pytest.fixture(scope="module")
def short_ner_app_client(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from _in_process_app(
        sim, tmp_path_factory.mktemp("streamnertimeout"), timeout_s=SHORT_TIMEOUT_S, stream_ner=True
    )


def test_stream_ner_failure_on_the_answer_ends_the_stream_without_done(
    ner_app_client: TestClient, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _app_key_for(ner_app_client, "streamner-service")

    def broken(text: str) -> Any:
        raise DetectionUnavailable("PII detection failed (RuntimeError)")

    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Summarize the visit of Alice Brennan"}],
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {key}"}
    with ner_app_client.stream("POST", "/v1/chat/completions", headers=headers, json=body) as response:
        assert response.status_code == 200
        healthy = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert healthy[-1] == "data: [DONE]"
    assert "Brennan" not in "".join(healthy)

    monkeypatch.setattr(ner_app_client.app.state.services.detector, "detect", broken)
    with ner_app_client.stream("POST", "/v1/chat/completions", headers=headers, json=body) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert "data: [DONE]" not in lines
    assert json.loads(lines[-1][6:])["error"]["code"] == "pii_detection_unavailable"
    assert "Brennan" not in "".join(lines) and "Summarize" not in "".join(lines)


def test_stream_ner_timeout_on_the_answer_ends_the_stream_without_done(
    short_ner_app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _app_key_for(short_ner_app_client, "streamnertimeout-service")
    detector = short_ner_app_client.app.state.services.detector
    # The request itself finds nothing at once (real detection could exceed the short limit on a
    # loaded machine); the answer's name detection blocks until released.
    monkeypatch.setattr(detector, "detect_many", lambda texts: [[] for _ in texts])
    blocked = _BlockedDetection(detector.detect)
    monkeypatch.setattr(detector, "detect", blocked)
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Note for Alice Brennan"}],
        "stream": True,
    }
    try:
        with short_ner_app_client.stream(
            "POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body
        ) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data: ")]
        assert not blocked.returned.is_set()  # the stream ended while detection was still blocked
    finally:
        blocked.release.set()
    assert blocked.returned.wait(timeout=60)
    assert "data: [DONE]" not in lines
    assert json.loads(lines[-1][6:])["error"]["code"] == "pii_detection_unavailable"
