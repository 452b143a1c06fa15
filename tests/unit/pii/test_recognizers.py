from __future__ import annotations

import random

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.checksums import is_luhn_valid, is_valid_cn_id
from tests.pii_corpus import cn_id, unionpay_card


def _types(detector: PIIDetector, text: str) -> dict[str, str]:
    return {text[f.start : f.end]: f.entity_type for f in detector.detect(text) if f.score >= 0.5}


def test_cn_id_check_character_and_birth_date_are_validated() -> None:
    rng = random.Random(1)
    valid = cn_id(rng)
    assert is_valid_cn_id(valid)
    wrong_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    assert not is_valid_cn_id(wrong_check)
    assert not is_valid_cn_id("110105199913321234")  # month 13
    assert is_valid_cn_id("11010519491231002X")


def test_implausible_cn_id_is_not_reported_and_a_mistyped_one_is(detector: PIIDetector) -> None:
    assert "110105199913321234" not in _types(detector, "编号110105199913321234，请核对")  # month 13
    assert _types(detector, "编号110105194912310021，请核对")["110105194912310021"] == "CN_ID_CARD"
    assert _types(detector, "身份证号11010519491231002X")["11010519491231002X"] == "CN_ID_CARD"


def test_unionpay_card_needs_luhn_unless_a_payment_word_is_near(detector: PIIDetector) -> None:
    """A mistyped card number next to 卡号 or a transfer still names an account; a 62... number
    elsewhere (an order number) needs the check."""
    card = unionpay_card(random.Random(3))
    assert is_luhn_valid(card)
    broken = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert _types(detector, f"卡号{card}")[card] == "CREDIT_CARD"
    assert broken not in _types(detector, f"订单号 {broken} 已发货")
    assert _types(detector, f"卡号{broken}")[broken] == "CREDIT_CARD"
    spaced = " ".join(broken[i : i + 4] for i in range(0, len(broken), 4))
    assert _types(detector, f"麻烦转账到 {spaced}，收款人 陈静")[spaced] == "CREDIT_CARD"


@pytest.mark.parametrize("phone", ["13812345678", "+86 13812345678", "0086 139 1234 5678", "+8615012345678"])
def test_mainland_mobile_numbers_are_phone_numbers(detector: PIIDetector, phone: str) -> None:
    found = [f for f in detector.detect(f"手机{phone}。") if f.entity_type == "PHONE_NUMBER"]
    assert (
        len(found) == 1 and "手机" + phone[0:0] and f"手机{phone}。"[found[0].start : found[0].end] == phone
    )


def test_passport_needs_context(detector: PIIDetector) -> None:
    assert _types(detector, "护照号码E12345678").get("E12345678") == "CN_PASSPORT"
    assert "E12345678" not in _types(detector, "零件型号E12345678已入库")


def test_only_dates_of_birth_are_reported_as_date_time(detector: PIIDetector) -> None:
    text = "Born 1975-03-04, seen 2024-03-05. 1980年5月6日出生，复诊日期 2024年5月6日。"
    dates = [text[f.start : f.end] for f in detector.detect(text) if f.entity_type == "DATE_TIME"]
    assert dates == ["1975-03-04", "1980年5月6日"]


def test_chinese_names_and_addresses(detector: PIIDetector) -> None:
    text = "患者李秀英，家住北京市朝阳区建国路88号3栋1201室，主治医生欧阳明轩。患者高血压病史十年。"
    found = _types(detector, text)
    assert found["李秀英"] == "PERSON"
    assert found["欧阳明轩"] == "PERSON"
    assert found["北京市朝阳区建国路88号3栋1201室"] == "LOCATION"
    assert "高血压" not in found


def test_english_names_emails_ssn_iban_ip(detector: PIIDetector) -> None:
    text = (
        "Patient John Smith, SSN 219-09-9999, email john.smith@example.com, "
        "IBAN DE89 3704 0044 0532 0130 00, from 10.1.2.3. Lisinopril 10 mg."
    )
    assert _types(detector, text) == {
        "John Smith": "PERSON",
        "219-09-9999": "US_SSN",
        "john.smith@example.com": "EMAIL_ADDRESS",
        "DE89 3704 0044 0532 0130 00": "IBAN_CODE",
        "10.1.2.3": "IP_ADDRESS",
    }


def test_site_pattern_from_policy_yaml_is_detected(detector: PIIDetector) -> None:
    assert _types(detector, "see MRN-1234567 for details")["MRN-1234567"] == "MEDICAL_RECORD_NUMBER"


def test_patterns_only_skips_names_but_finds_identifiers(detector: PIIDetector) -> None:
    text = "John Smith 13812345678 john@example.com"
    found = {text[f.start : f.end]: f.entity_type for f in detector.detect_patterns_only(text)}
    assert "John Smith" not in found
    assert found["13812345678"] == "PHONE_NUMBER" and found["john@example.com"] == "EMAIL_ADDRESS"
