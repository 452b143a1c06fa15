"""A cue jieba glues whole to the surname (客户王|磊), a surname with a title after a cue (客户王先生),
and Chinese words in English prose (feng shui, yin yang), which are no names."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.found import people


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("客户王磊来电要求查询余额", "王磊"),
        ("客户王磊的账户被冻结", "王磊"),
        ("客户王先生来电", "王先生"),
        ("患者王小姐明天复诊", "王小姐"),
        ("患者欧阳先生复诊", "欧阳先生"),
    ],
)
def test_the_name_after_a_glued_cue_is_found_whole(detector: PIIDetector, text: str, name: str) -> None:
    assert name in people(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Tai chi class on Monday; feng shui talk on Friday.",
        "Sun exposure and yin yang balance were discussed.",
        "客户王府井店的订单",
    ],
)
def test_chinese_words_are_no_names(detector: PIIDetector, text: str) -> None:
    found = " ".join(people(detector, text))
    assert "feng" not in found and "yin" not in found and "王府" not in found


def test_a_person_called_yang_after_a_title_is_still_a_name(detector: PIIDetector) -> None:
    assert people(detector, "Dr. Yin Yang will see you at ten") == ["Yin Yang"]
