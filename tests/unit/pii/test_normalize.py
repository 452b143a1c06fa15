from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.normalize import canonical_value, normalize
from policies.pii.redact_body import redact_chat_body

INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202e",
    "\u202a",
    "\u2066",
    "\u2069",
    "\u200e",
]


def test_fullwidth_digits_and_zero_width_chars_are_normalized() -> None:
    norm = normalize("tel １３８\u200b１２３４\u202e５６７８!")
    assert norm.text == "tel 13812345678!"
    start = norm.text.index("1")
    assert norm.to_original(start, start + 11) == (4, 17)


def test_digits_of_other_scripts_become_ascii_and_map_back() -> None:
    arabic_indic = "tel \u0664\u0661\u0665-\u0665\u0665\u0665-\u0660\u0661\u0663\u0662 ok"
    norm = normalize(arabic_indic)
    assert norm.text == "tel 4155550132 ok"
    assert norm.to_original(4, 14) == (4, 16)
    # Kawi digits (Unicode 15): the regex engine of the recognizers knows them, int() on
    # Python 3.11 does not; they used to make the card checksum raise (detection refused).
    kawi = "".join(chr(0x11F50 + int(d)) for d in "4111111111111111")
    assert normalize(f"card {kawi}").text == "card 4111111111111111"


def test_digits_of_other_scripts_are_detected_not_refused(detector: PIIDetector) -> None:
    kawi = "".join(chr(0x11F50 + int(d)) for d in "4111111111111111")
    for finding in (detector.detect(f"card {kawi} ok"), detector.detect_patterns_only(f"card {kawi} ok")):
        assert [(f.entity_type, f.start, f.end) for f in finding] == [("CREDIT_CARD", 5, 21)]
    noise = "4" + "".join(chr(0x11F50 + i % 10) for i in range(15))
    assert detector.detect_patterns_only(f"x {noise} y") == []


def test_split_digit_groups_are_joined_but_dates_ssn_ip_and_decimals_are_kept() -> None:
    assert normalize("call 138 1234 5678 or 138-1234-5678 or 138.1234.5678").text == (
        "call 13812345678 or 13812345678 or 13812345678"
    )
    text = "ip 192.168.1.1, ssn 219-09-9999, on 2024-03-05, HbA1c 7.2% and 3.14"
    assert normalize(text).text == text


def test_dotted_chain_of_small_groups_is_joined_not_read_as_an_ip() -> None:
    assert normalize("ID 510.107.195.110.223.209").text == "ID 510107195110223209"


def test_canonical_value_ignores_separators_width_and_case() -> None:
    assert canonical_value("１３８ 1234-5678") == canonical_value("13812345678")
    assert canonical_value("John  SMITH") == canonical_value("john smith")


_CN_ID = "11010519491231002X"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.sampled_from([_CN_ID, "13812345678", "6222021234567890128", "user.name@example.com"]),
    prefix=st.sampled_from(["身份证号", "Card number: ", "联系方式 ", "Contact: "]),
    insertions=st.lists(
        st.tuples(st.integers(min_value=0, max_value=40), st.sampled_from(INVISIBLE)), max_size=6
    ),
    widen=st.booleans(),
)
def test_evasion_forms_are_redacted_and_the_rest_of_the_text_is_unchanged(
    detector: PIIDetector, pii_policy: PIIPolicy, value: str, prefix: str, insertions, widen: bool
) -> None:
    disguised = "".join(chr(ord(c) + 0xFEE0) if widen and c.isdigit() else c for c in value)
    chars = list(disguised)
    for position, mark in insertions:
        chars.insert(min(position, len(chars) - 1) if len(chars) > 1 else 0, mark)
    disguised = "".join(chars)
    if disguised[0] in INVISIBLE:
        disguised = disguised.lstrip("".join(INVISIBLE))
    suffix = "。血压 130/85 mmHg, Metformin 500 mg."
    text = prefix + disguised + suffix
    out, mapping, _ = redact_chat_body(
        {"messages": [{"role": "user", "content": text}]}, detector, pii_policy.profile("default")
    )
    redacted = out["messages"][0]["content"]
    assert value not in redacted
    assert disguised not in redacted
    assert normalize(redacted).text.find(value) == -1
    assert redacted.startswith(prefix) and redacted.endswith(suffix)
    token = redacted[len(prefix) : len(redacted) - len(suffix)]
    assert token.startswith("[") and token.endswith("]")
    assert mapping.token_to_value[token] == disguised
