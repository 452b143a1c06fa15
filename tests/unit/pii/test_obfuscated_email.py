"""E-mail addresses with "@" and "." written as words, in brackets or spaced out (issue 18, item 5)."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.redact_body import redact_chat_body
from tests.unit.pii.found import found_as


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (
            "My email is john [dot] doe [at] example [dot] com. Store it.",
            "john [dot] doe [at] example [dot] com",
        ),
        ("Email me at john . doe @ example . com", "john . doe @ example . com"),
        ("reach her at jane(at)corp(dot)io today", "jane(at)corp(dot)io"),
        ("mail: maria_g {at} clinic {dot} local", "maria_g {at} clinic {dot} local"),
        ("her email is wang dot li at hospital dot internal", "wang dot li at hospital dot internal"),
        ("Contact: R.PATEL [AT] BANK [DOT] CO [DOT] UK", "R.PATEL [AT] BANK [DOT] CO [DOT] UK"),
        ("邮箱 li.na [at] corp [dot] cn", "li.na [at] corp [dot] cn"),
    ],
)
def test_obfuscated_addresses_are_email_addresses(detector: PIIDetector, text: str, value: str) -> None:
    assert found_as(detector, text, "EMAIL_ADDRESS") == [value]


@pytest.mark.parametrize(
    "text",
    [
        "We met at noon dot com was down",  # the bare words need an e-mail word nearby
        "Please contact me at home. In case of emergency call the ward.",  # a sentence's end
        "Temperature 37.5 at 10 . am",
        "look at the chart . com ports are closed",  # no e-mail word
        "she was at example. Com is short for common",
    ],
)
def test_prose_with_at_and_dots_is_not_an_address(detector: PIIDetector, text: str) -> None:
    assert found_as(detector, text, "EMAIL_ADDRESS") == []


def test_an_obfuscated_address_never_reaches_the_model(detector: PIIDetector, pii_policy: PIIPolicy) -> None:
    text = "Send the results to john [dot] doe [at] example [dot] com please."
    out, _, _ = redact_chat_body(
        {"messages": [{"role": "user", "content": text}]}, detector, pii_policy.profile("default")
    )
    content = out["messages"][0]["content"]
    assert "doe" not in content and "example" not in content and "[EMAIL_ADDRESS_1]" in content
