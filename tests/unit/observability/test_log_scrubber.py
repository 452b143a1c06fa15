"""The last processor of the log chain: no value of the PII corpus survives a log line that holds
it, in any field, nested, in exception messages or in library (standard ``logging``) lines;
request and trace ids, and the gateway's ordinary fields, come through unchanged."""

from __future__ import annotations

import io
import json
import logging
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from gateway.logging import configure_logging
from gateway.observability.scrub import MAX_LOGGED_CHARS, scrub_event, scrub_text, scrub_value
from tests.pii_corpus import ZERO_WIDTH, generate

SAMPLES = generate(300)
VALUES = sorted({s.text[span.start : span.end] for s in SAMPLES for span in s.spans})


def _visible(value: str) -> str:
    """The value as a reader sees it: invisible characters gone, full-width digits as ASCII."""
    return unicodedata.normalize("NFKC", "".join(ch for ch in value if ch not in ZERO_WIDTH))


def _survives(value: str, rendered: str) -> bool:
    return value in rendered or _visible(value) in _visible(rendered)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """structlog and standard logging configured as the gateway does, writing to a buffer."""
    buffer = io.StringIO()
    configure_logging("info")
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(file=buffer), cache_logger_on_first_use=False
    )
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    structlog.reset_defaults()
    logging.basicConfig(force=True)


def _events(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_corpus_values_in_event_fields_are_scrubbed(log_lines: io.StringIO) -> None:
    log = structlog.get_logger("test")
    for sample in SAMPLES:
        log.info("test.sample", detail=sample.text, nested={"messages": [{"content": sample.text}]})
    events = _events(log_lines)
    assert len(events) == len(SAMPLES)
    for sample, event in zip(SAMPLES, events, strict=True):
        rendered = json.dumps(event, ensure_ascii=False)
        for span in sample.spans:
            value = sample.text[span.start : span.end]
            assert not _survives(value, rendered), f"{span.entity_type} survived: {rendered}"


def test_each_corpus_value_alone_is_scrubbed() -> None:
    survivors = [value for value in VALUES if _survives(value, scrub_text(value))]
    assert not survivors, survivors[:10]


def test_corpus_values_in_exception_messages_and_library_logs(log_lines: io.StringIO) -> None:
    log = structlog.get_logger("test")
    library = logging.getLogger("some.library")
    for sample in SAMPLES[:60]:
        try:
            raise ValueError(f"cannot parse {sample.text!r}")
        except ValueError:
            log.exception("test.failed")
            library.exception("library saw %s", sample.text)
    rendered = log_lines.getvalue()
    decoded = json.dumps(_events(log_lines), ensure_ascii=False)
    for sample in SAMPLES[:60]:
        for span in sample.spans:
            value = sample.text[span.start : span.end]
            assert not _survives(value, decoded), value
    assert rendered.count('"exc_type": "ValueError"') == 120
    assert "locals" not in rendered  # frames' local variables would hold request bodies


def test_request_and_trace_ids_and_ordinary_fields_are_kept(log_lines: io.StringIO) -> None:
    fields: dict[str, Any] = {
        "request_id": "req_0123456789abcdef01234567",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "principal": "0190a1b2c3d4e5f60718",
        "digest": "ab" * 32,
        "route": "/v1/chat/completions",
        "method": "POST",
        "status": 200,
        "latency_ms": 12.5,
        "model": "deepseek-ai/DeepSeek-V3",
        "error_type": "EngineUnavailable",
        "seq": 123456789012,
    }
    structlog.get_logger("test").info("http.request", **fields)
    (event,) = _events(log_lines)
    assert {key: event[key] for key in fields} == fields
    assert event["event"] == "http.request"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("request_id", "req_john.smith@example.com"),
        ("principal", "jwt:mary.jones@hospital.org"),
        ("trace_id", "536-22-1234"),
        ("timestamp", "call 13812345678"),
        ("method", "Maria Gonzalez"),
        ("route", "/v1/users/mary.jones@hospital.org"),
        ("route", "John Smith"),
    ],
)
def test_kept_keys_with_the_wrong_shape_are_scrubbed(key: str, value: str) -> None:
    assert scrub_value(value, key) != value


@pytest.mark.parametrize(
    ("secret", "marker"),
    [
        ("Authorization: Bearer gw_abcd1234_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA", "[SECRET]"),
        ("key gw_abcd1234_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA", "[API_KEY]"),
        ("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYXJ5In0.c2lnbmF0dXJl", "[JWT]"),
        ("postgresql+asyncpg://gateway:s3cr3t-pw@db.internal/audit", "[SECRET]@"),
        ("password=hunter2 and more", "password=[SECRET]"),
        ("password:hunterhunter", "password:[SECRET]"),
        ("sk-proj-AbCdEfGhIjKlMnOpQrStUv", "[API_KEY]"),
        ("kek 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "[SECRET]"),
        ("blob q2Vd8Zx1Lk93PwYtRb7NmA4sHc6JfUe0Gi5Ko", "[SECRET]"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----", "[SECRET]"),
        ("from 203.0.113.77", "[IP]"),
        ("from 2001:db8:85a3::8a2e:370:7334", "[IP]"),
    ],
)
def test_secret_shapes_are_scrubbed(secret: str, marker: str) -> None:
    scrubbed = scrub_text(secret)
    assert marker in scrubbed
    for part in (
        "hunter",
        "s3cr3t-pw",
        "Zm9vYmFy",
        "eyJzdWIi",
        "9f86d081",
        "q2Vd8Zx1",
        "MIIEv",
        "203.0.113",
        "8a2e",
    ):
        assert part not in scrubbed


def test_plain_operational_text_is_left_alone() -> None:
    for text in (
        "audit.append_failed",
        "http://127.0.0.1:8080",
        "/usr/lib/python3.11/site-packages/litestar/app.py",
        "ConnectionRefusedError",
        "timeout after 5.0 s at 12:00:01",
        "batch of 12 records",
    ):
        assert scrub_text(text) == text


def test_long_values_are_cut_and_containers_walked() -> None:
    long = "x " * MAX_LOGGED_CHARS
    assert len(scrub_text(long)) < MAX_LOGGED_CHARS + 20
    event = scrub_event(
        None, "info", {"k": ("536-22-1234", {b"raw": b"4111 1111 1111 1111"}), "n": 4111111111111111}
    )
    assert "536-22-1234" not in json.dumps(event)
    assert "4111" not in json.dumps(event)
