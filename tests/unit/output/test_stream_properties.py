"""Properties of the streaming filter over any text and any way of cutting it into chunks."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.bundle import DEFAULT_POLICY_DIR, read_document
from policies.output.config import compile_rules_for_role, parse_output_policy
from policies.output.stream_filter import StreamFilter

from .conftest import TEST_MAX_ENTITY_LEN, regex_detector, run_chunks, split_at

_DOC, _ = read_document(DEFAULT_POLICY_DIR / "output.yaml")
RULES = compile_rules_for_role(parse_output_policy(_DOC, "output.yaml"), ["service", "analyst"])
RESTORE = {"[PERSON_1]": "Alice Zhang", "[PHONE_NUMBER_1]": "+1 415 555 0100"}

# Text that cannot contain a match: no digits, '-', '_', '[', ':', '/', no 'g', 's' or 'b' (so no
# deny phrase, key prefix, URL, token or PEM header can form), plus some Chinese and punctuation.
CLEAN_ALPHABET = "acdefhijklmnopqrtuvwxyzACDEFHIJKLMNOPQRTUVWXYZ .,;!?()'\"\n\t医生病人你好"
clean_text = st.text(alphabet=CLEAN_ALPHABET, max_size=300)
cuts = st.lists(st.integers(min_value=0, max_value=400), max_size=40)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
secrets = st.one_of(
    st.text(alphabet=_ALNUM, min_size=20, max_size=48).map(lambda s: "sk-" + s),
    st.text(alphabet=_ALNUM, min_size=16, max_size=40).map(lambda s: "gw_" + s),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=16, max_size=16).map(
        lambda s: "AKIA" + s
    ),
    st.text(alphabet=_ALNUM, min_size=36, max_size=40).map(lambda s: "ghp_" + s),
    st.tuples(
        st.text(alphabet=_ALNUM, min_size=10, max_size=30),
        st.text(alphabet=_ALNUM, min_size=10, max_size=30),
        st.text(alphabet=_ALNUM, min_size=20, max_size=43),
    ).map(lambda t: f"eyJ{t[0]}.eyJ{t[1]}.{t[2]}"),
)
pii_values = st.one_of(
    st.tuples(st.integers(200, 999), st.integers(200, 999), st.integers(1000, 9999)).map(
        lambda t: f"+1 {t[0]} {t[1]} {t[2]}"
    ),
    st.tuples(st.integers(200, 999), st.integers(200, 999), st.integers(1000, 9999)).map(
        lambda t: f"{t[0]}-{t[1]}-{t[2]}"
    ),
    st.tuples(
        st.text(alphabet="abcdefxyz", min_size=1, max_size=12), st.sampled_from(["example.com", "mail.cn"])
    ).map(lambda t: f"{t[0]}@{t[1]}"),
    st.integers(10**15, 10**16 - 1).map(lambda n: " ".join(str(n)[i : i + 4] for i in range(0, 16, 4))),
)


def _with_detector(restore: dict[str, str] | None = None) -> StreamFilter:
    return StreamFilter(RULES, restore, detector=regex_detector, max_entity_len=TEST_MAX_ENTITY_LEN)


@SETTINGS
@given(text=clean_text, cut_points=cuts)
def test_clean_text_passes_unchanged_for_any_chunking(text: str, cut_points: list[int]) -> None:
    assert run_chunks(StreamFilter(RULES, None), split_at(text, cut_points)) == text
    assert run_chunks(_with_detector(RESTORE), split_at(text, cut_points)) == text


@SETTINGS
@given(text=clean_text)
def test_clean_text_passes_unchanged_one_character_per_chunk(text: str) -> None:
    filt = _with_detector()
    assert run_chunks(filt, list(text)) == text
    assert filt.decisions == []


@SETTINGS
@given(before=clean_text, secret=secrets, after=clean_text, cut_points=cuts)
def test_secret_never_appears_in_output(before: str, secret: str, after: str, cut_points: list[int]) -> None:
    text = f"{before} {secret} {after}"
    for chunks in (split_at(text, cut_points), list(text)):
        filt = StreamFilter(RULES, None)
        out = run_chunks(filt, chunks)
        assert secret not in out
        assert "[REDACTED:secret." in out


@SETTINGS
@given(before=clean_text, value=pii_values, after=clean_text, cut_points=cuts)
def test_leaked_pii_never_appears_in_output(
    before: str, value: str, after: str, cut_points: list[int]
) -> None:
    text = f"{before} {value} {after}"
    for chunks in (split_at(text, cut_points), list(text)):
        out = run_chunks(_with_detector(RESTORE), chunks)
        assert value not in out
        assert "[REDACTED_" in out


@SETTINGS
@given(before=clean_text, after=clean_text, cut_points=cuts)
def test_tokens_are_restored_or_kept_for_any_chunking(before: str, after: str, cut_points: list[int]) -> None:
    text = f"{before} [PERSON_1] and [PHONE_NUMBER_1] {after}"
    chunks = split_at(text, cut_points)
    assert run_chunks(_with_detector(RESTORE), chunks) == f"{before} Alice Zhang and +1 415 555 0100 {after}"
    assert run_chunks(_with_detector(None), chunks) == text


@SETTINGS
@given(text=st.text(max_size=400), cut_points=cuts)
def test_hold_back_is_bounded_for_any_text(text: str, cut_points: list[int]) -> None:
    filt = _with_detector()
    fed = released = 0
    for chunk in split_at(text, cut_points):
        result = filt.feed("content", chunk)
        fed += len(chunk)
        released += len(result.text)
        assert filt.held("content") <= filt.window
        if not filt.blocked:
            assert released >= fed - filt.window - 64  # replacements may be shorter than what they replace
