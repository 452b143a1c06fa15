"""Device identifiers (DEVICE_ID): MAC addresses by shape, IMEI and serial numbers after their word;
clock times, ratios, versions and hashes stay text."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.found import found_as


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("login from a laptop with MAC 20:c7:51:24:47:e3 at 02:14", "20:c7:51:24:47:e3"),
        ("the pump's adapter F4-43-00-02-6B-6E dropped off the network", "F4-43-00-02-6B-6E"),
        ("unknown host 8a:54:55:94:a0:65 on VLAN 12", "8a:54:55:94:a0:65"),  # no word needed
        ("Wi-Fi address 20:15:30:45:12:00 of her phone", "20:15:30:45:12:00"),  # digits only: a word
        ("device MAC 20c7.5124.47e3 on the ward", "20c7.5124.47e3"),  # Cisco's dotted form
        ("UDID 00008030-001A35E40C38802E on the loan iPad", "00008030-001A35E40C38802E"),
        ("pacemaker serial number PJN123456K, implanted 2019", "PJN123456K"),
        ("手机串号 86123405678901 已登记", "86123405678901"),
    ],
)
def test_device_identifiers_are_found(detector: PIIDetector, text: str, value: str) -> None:
    assert found_as(detector, text, "DEVICE_ID") == [value]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("IMEI 356938035643809 reported stolen", "356938035643809"),
        ("The device IMEI 490154203237518 was reported stolen.", "490154203237518"),
        ("IMEI: 49-015420-323751-8 on the lost phone", "49-015420-323751-8"),
        ("her phone's IMEI no. 356938035643809, and call her", "356938035643809"),
    ],
)
def test_an_imei_is_a_device_id_not_a_card(detector: PIIDetector, text: str, value: str) -> None:
    """An IMEI passes the Luhn check (its last digit is one): after its word it is a DEVICE_ID,
    on both sides, and no card or phone recognizer names it."""
    assert found_as(detector, text, "DEVICE_ID") == [value]
    for findings in (detector.detect(text), detector.detect_identifiers(text)):
        assert [f.entity_type for f in findings if text[f.start : f.end] == value] == ["DEVICE_ID"]


def test_a_card_next_to_an_imei_is_still_a_card(detector: PIIDetector) -> None:
    text = "IMEI 356938035643809 and her card 5500 0000 0000 0004."
    assert found_as(detector, text, "CREDIT_CARD") == ["5500 0000 0000 0004"]


@pytest.mark.parametrize(
    "text",
    [
        "the scan ran from 12:30:45 to 13:02:10",
        "mix the buffer 1:2:3:4:5:6 by volume",  # single digits
        "scores 20:15:30:45:12:00 across the six rounds",  # digits only, no device word
        "commit d41d8cd98f00b204e9800998ecf8427e is deployed",  # a hash, longer than twelve
        "build 0f3a9c2e71b4 passed",  # twelve hex digits, no device word
        "upgrade to version 2.4.10 of the app",
        "serial number unknown, device not found",
    ],
)
def test_times_ratios_hashes_and_versions_are_no_device_ids(detector: PIIDetector, text: str) -> None:
    assert found_as(detector, text, "DEVICE_ID") == []
