"""Chinese addresses (issue 18, item 5): no province, no 市 or 区, spaced numbers, a park instead of a
road, a building after the number; a hospital's own floors, wards and beds and place names alone are
no address."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.recognizers_zh import ChineseAddressRecognizer
from tests.unit.pii.heldout_zh import generate, is_found, recall_table


def _locations(detector: PIIDetector, text: str) -> list[str]:
    return [
        text[f.start : f.end] for f in detector.detect(text) if f.entity_type == "LOCATION" and f.score >= 0.5
    ]


@pytest.mark.parametrize(
    "address",
    [
        "深圳南山科技园 8 号楼",
        "杭州市西湖区文三路 90 号",
        "南山区科技园 3 栋 1201 室",
        "北京朝阳区建国路88号SOHO现代城",
        "中山路 12 号阳光花园 5 栋 2 单元 301 室",
        "成都高新区天府大道 1700 号 A 座 12 层",
        "天津和平区人民南路246号腾讯大厦",
        "杭州海淀区天目山路82号 19 楼",
        # Written after the recognizer was done (held out): rooms without 室, streets without 路,
        # parks and estates by any name.
        "金华婺城区河南岸18号3栋1790",
        "石家庄市惠城区天宁路 383 号",
        "青秀区电子产业园 6 栋 603 室",
        "三亚金融城 2 号楼",
        "台州市青秀区兴中道359号",
    ],
)
@pytest.mark.parametrize("template", ["住址：{v}", "快递寄到{v}，谢谢", "{v}", "患者搬到了{v}，请更新档案。"])
def test_addresses_without_province_and_with_spaced_numbers_are_found_whole(
    detector: PIIDetector, address: str, template: str
) -> None:
    text = template.replace("{v}", address)
    assert address in _locations(detector, text), _locations(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "请到门诊楼 3 层抽血。",
        "住院部 8 号楼的电梯在维修。",
        "3 号床需要换药。",
        "请到 2 号窗口缴费。",
        "内科病区 3 号楼",
        "北京协和医院的专家明天会诊。",
        "上海市第一人民医院的报告已收到。",
        "我们在深圳和广州都有分行。",
        "科技园的网点周末营业。",
        "中山路的分行搬家了。",
        "心内科的床位已满。",
        "明天去王府井买药。",
    ],
)
def test_hospital_floors_beds_and_place_names_alone_are_no_address(text: str) -> None:
    results = ChineseAddressRecognizer().analyze(text, ["LOCATION"])
    assert [text[r.start : r.end] for r in results if r.score >= 0.5] == []


CASES = [c for c in generate(per_class=80, seed=1818) if c.cls == "zh_address_loose"]


def test_recall_of_loose_addresses(detector: PIIDetector, pii_policy: PIIPolicy) -> None:
    findings = detector.detect_many([c.text for c in CASES])
    (hit, total) = recall_table(CASES, findings, pii_policy.profile("default").min_score)[
        ("zh_address_loose", "zh")
    ]
    misses = [c.value for c, f in zip(CASES, findings, strict=True) if not is_found(c, f, 0.5)]
    assert total == 80 and hit / total >= 0.95, (hit, total, misses[:5])


@settings(max_examples=60, deadline=None)
@given(
    city=st.sampled_from(["", "深圳", "杭州市", "佛山", "温州市"]),
    district=st.sampled_from(["南山区", "西湖", "顺德区", "鹿城区"]),
    place=st.sampled_from(["文三路", "科技园", "人民路", "软件园", "解放大道"]),
    number=st.integers(1, 999),
    space=st.sampled_from(["", " "]),
    unit=st.sampled_from(["号", "号楼", "栋"]),
    rest=st.sampled_from(["", " 1201 室", "2单元501室", " 5 楼"]),
)
def test_any_city_district_street_and_spaced_number_is_one_address(
    city: str, district: str, place: str, number: int, space: str, unit: str, rest: str
) -> None:
    address = f"{city}{district}{place}{space}{number}{space}{unit}{rest}"
    text = f"家住{address}，联系电话见下"
    spans = [text[r.start : r.end].strip() for r in ChineseAddressRecognizer().analyze(text, ["LOCATION"])]
    assert address in spans, (text, spans)


def test_address_matching_stays_linear_on_long_place_like_text() -> None:
    import time

    recognizer = ChineseAddressRecognizer()
    for text in ("南山" * 20_000, "科技园 8 号" * 5_000, "路1号" * 10_000, "和平区" * 10_000):
        started = time.perf_counter()
        recognizer.analyze(text, ["LOCATION"])
        assert time.perf_counter() - started < 5.0, text[:20]
