"""E-mail addresses on any domain: intranet names, single-label hosts, glued to Chinese text."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.found import found_as


def _emails(detector: PIIDetector, text: str) -> list[str]:
    return [
        text[f.start : f.end]
        for f in detector.detect(text)
        if f.entity_type == "EMAIL_ADDRESS" and f.score >= 0.5
    ]


@pytest.mark.parametrize(
    "address",
    [
        "j.doe@records.example",
        "billing@branch12.local",
        "oncall@pacs.internal",
        "hr@payroll.corp",
        "nas-admin@nas01.lan",
        "printer@office.home.arpa",
        "ops@fileserver",
        "a.kowalska+labs@lis.intra",
        "wang.li@corp.io",
    ],
)
def test_any_syntactically_valid_address_is_an_email(detector: PIIDetector, address: str) -> None:
    assert _emails(detector, f"Please email the discharge summary to {address} today.") == [address]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("绑定邮箱wang.li@corp.io请查收", "wang.li@corp.io"),
        ("请把化验单发到ops@fileserver，谢谢。", "ops@fileserver"),
        ("家属邮箱：li_chen@ehr.local。", "li_chen@ehr.local"),
    ],
)
def test_address_glued_to_chinese_text_is_matched_without_it(
    detector: PIIDetector, text: str, address: str
) -> None:
    assert _emails(detector, text) == [address]


@pytest.mark.parametrize(
    "text",
    [
        "Take 1 tab@bedtime with water.",
        "metformin 500mg@night",
        "Upgrade lodash@4.17.21 before the release.",
        "Meet @ 10:30 in room 4B",
    ],
)
def test_dosing_shorthand_versions_and_mentions_are_not_emails(detector: PIIDetector, text: str) -> None:
    assert _emails(detector, text) == []


def test_password_in_a_connection_string_is_not_an_email_but_mailto_is(detector: PIIDetector) -> None:
    assert _emails(detector, "postgres://admin:hunter2pw@db.internal:5432/ehr") == []
    assert _emails(detector, "mailto:john.doe@corp.local") == ["john.doe@corp.local"]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("客户邮箱 zhang.san@公司.中国 已更新", "zhang.san@公司.中国"),
        ("客户邮箱zhang.san@公司.中国请查收", "zhang.san@公司.中国"),  # Chinese text right after
        ("email li@example.中国 today", "li@example.中国"),
    ],
)
def test_an_address_under_a_chinese_top_level_domain_is_an_email(
    detector: PIIDetector, text: str, address: str
) -> None:
    assert found_as(detector, text, "EMAIL_ADDRESS") == [address]
