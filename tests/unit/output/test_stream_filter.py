"""The streaming output filter: hold-back, restoration, redaction, blocking, channels."""

from __future__ import annotations

import pytest

from policies.output.config import CompiledRules, OutputPolicy, compile_rules_for_role, parse_output_policy
from policies.output.stream_filter import StreamFilter
from tests.unit.output.whole_text import filter_text

from .conftest import TEST_MAX_ENTITY_LEN, FakeSpan, regex_detector, run_chunks, split_at

RESTORE = {
    "[PERSON_1]": "Alice Zhang",
    "[CN_PHONE_2]": "13812345678",
    "[EMAIL_ADDRESS_1]": "alice@example.org",
}
SECRET = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"


def chars(text: str) -> list[str]:
    return list(text)


# ----------------------------------------------------------------------------- release timing


def test_clean_text_is_released_at_once(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, None)
    assert filt.feed("content", "The patient is stable. ").text == "The patient is stable. "
    assert filt.held("content") == 0


def test_possible_key_prefix_is_held_only_while_it_can_still_match(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, None)
    assert filt.feed("content", "Use s").text == "Use "
    assert filt.feed("content", "k").text == ""
    assert filt.feed("content", "y is blue").text == "sky is blue"


def test_whole_word_phrase_holds_one_character_of_right_context(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, None)
    released = filt.feed("content", "a guaranteed cure").text
    assert released == "a "
    assert filt.feed("content", "s").text == "guaranteed cures"
    assert filt.decisions == []
    filt.feed("content", " and a guaranteed cure")
    filt.feed("content", ".")
    assert [(d.rule_id, d.action, d.count) for d in filt.decisions] == [("deny.guarantees", "flag", 1)]


def test_hold_back_never_exceeds_the_window(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, None, detector=regex_detector, max_entity_len=TEST_MAX_ENTITY_LEN)
    text = "The quick brown fox jumps over the lazy dog near sk-abc and [PERS. " * 40
    fed = released = 0
    for chunk in split_at(text, range(0, len(text), 7)):
        released += len(filt.feed("content", chunk).text)
        fed += len(chunk)
        assert released >= fed - filt.window
    assert filt.window == max(analyst_rules.window, TEST_MAX_ENTITY_LEN, 48)


def test_with_a_detector_text_is_delayed_by_at_most_max_entity_len() -> None:
    rules = compile_rules_for_role(parse_output_policy({}, "t"), [])
    filt = StreamFilter(rules, None, detector=regex_detector, max_entity_len=20)
    assert filt.feed("content", "x" * 50).text == "x" * 30
    assert filt.held("content") == 20


# ----------------------------------------------------------------------------- secrets


def test_secret_split_across_chunks_is_redacted(analyst_rules: CompiledRules) -> None:
    text = f"Your key is {SECRET}. Keep it safe."
    for chunks in (chars(text), split_at(text, [15, 16, 30]), [text]):
        out = run_chunks(StreamFilter(analyst_rules, None), chunks)
        assert out == "Your key is [REDACTED:secret.openai_api_key]. Keep it safe."


def test_password_in_connection_string_is_redacted_but_host_kept(analyst_rules: CompiledRules) -> None:
    text = "DSN: postgresql://app:S3cr3t!pw@db.internal:5432/main"
    out = run_chunks(StreamFilter(analyst_rules, None), chars(text))
    assert out == "DSN: postgresql://app:[REDACTED:secret.connection_string_password]@db.internal:5432/main"


@pytest.mark.parametrize(
    "secret",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "gw_live_0123456789abcdefXYZ",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ],
)
def test_builtin_secret_kinds_are_redacted_when_streamed_by_character(
    analyst_rules: CompiledRules, secret: str
) -> None:
    out = run_chunks(StreamFilter(analyst_rules, None), chars(f"token: {secret} end"))
    assert secret not in out
    assert out.startswith("token: [REDACTED:secret.") and out.endswith("] end")


# ----------------------------------------------------------------------------- block


def test_private_key_blocks_and_nothing_of_it_is_released(analyst_rules: CompiledRules) -> None:
    text = "Here it is:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----\n"
    filt = StreamFilter(analyst_rules, None)
    released = ""
    results = []
    for ch in text:
        result = filt.feed("content", ch)
        results.append(result)
        released += result.text
    released += filt.finish("content").text
    assert "Here it is:\n".startswith(released)
    assert "-" not in released
    assert filt.blocked
    assert results[-1].blocked and results[-1].block_rule == "secret.private_key"
    assert [(d.rule_id, d.action) for d in filt.decisions] == [("secret.private_key", "block")]
    assert filt.feed("content", "more").text == "" and filt.feed("reasoning_content", "x").blocked


def test_block_stops_every_channel(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, None)
    filt.feed("reasoning_content", "thinking about s")
    assert not filt.feed("content", "-----BEGIN PRIVATE KEY-----").blocked  # could still grow
    assert filt.feed("content", "\n").blocked
    assert filt.finish_all() == {}
    assert filt.finish("reasoning_content").text == ""


def test_banned_topic_blocks_only_roles_that_list_it() -> None:
    doc = {
        "topics": {"weapons": {"action": "block", "keywords": ["pipe bomb", "制造炸弹"]}},
        "role_topics": {"service": ["weapons"]},
    }
    policy = parse_output_policy(doc, "t")
    text = "Steps to build a pipe bomb: first"
    out, decisions, blocked = filter_text(compile_rules_for_role(policy, ["service"]), None, text)
    assert blocked and out == ""
    assert [(d.rule_id, d.action, d.count) for d in decisions] == [("topic.weapons", "block", 1)]
    out, decisions, blocked = filter_text(compile_rules_for_role(policy, ["analyst"]), None, text)
    assert not blocked and out == text and decisions == []
    _, _, blocked = filter_text(compile_rules_for_role(policy, ["service"]), None, "教我制造炸弹的方法")
    assert blocked


def test_reprs_never_contain_matched_values(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, RESTORE)
    results = [filt.feed("content", c) for c in f"{SECRET} [PERSON_1] -----BEGIN EC PRIVATE KEY-----\n"]
    text = repr(filt.decisions) + str(filt.decisions) + "".join(repr(r) + str(r) for r in results)
    for value in (SECRET, "Alice", "PRIVATE KEY", "sk-"):
        assert value not in text
    assert "secret.private_key" in text


# ----------------------------------------------------------------------------- redact / flag rules


def test_site_regex_redacts_and_flag_passes_through() -> None:
    doc = {
        "rules": [
            {"id": "emp", "action": "redact", "regex": r"EMP-\d{6}"},
            {"id": "tone", "action": "flag", "phrases": ["as an AI"]},
        ]
    }
    rules = compile_rules_for_role(parse_output_policy(doc, "t"), ["analyst"])
    out = run_chunks(StreamFilter(rules, None), chars("As an AI: id EMP-123456, EMP-1."))
    assert out == "As an AI: id [REDACTED:emp], EMP-1."


def test_rule_limited_to_roles_applies_only_to_them() -> None:
    doc = {
        "rules": [{"id": "internal", "action": "redact", "phrases": ["project falcon"], "roles": ["service"]}]
    }
    policy = parse_output_policy(doc, "t")
    assert (
        filter_text(compile_rules_for_role(policy, ["service"]), None, "Project  Falcon!")[0]
        == "[REDACTED:internal]!"
    )
    assert (
        filter_text(compile_rules_for_role(policy, ["analyst"]), None, "Project Falcon!")[0]
        == "Project Falcon!"
    )


def test_phrase_inside_a_longer_word_is_not_matched() -> None:
    doc = {"rules": [{"id": "d", "action": "redact", "phrases": ["kill"]}]}
    rules = compile_rules_for_role(parse_output_policy(doc, "t"), [])
    assert run_chunks(StreamFilter(rules, None), chars("skill killer kill.")) == "skill killer [REDACTED:d]."


# ----------------------------------------------------------------------------- pseudonyms


def test_token_split_across_chunks_is_restored_for_unmask_role(analyst_rules: CompiledRules) -> None:
    text = "Call [PERSON_1] on [CN_PHONE_2]."
    for chunks in (chars(text), split_at(text, [7, 9, 22, 25]), [text]):
        out = run_chunks(StreamFilter(analyst_rules, RESTORE), chunks)
        assert out == "Call Alice Zhang on 13812345678."


def test_token_split_across_chunks_stays_for_roles_without_unmask(analyst_rules: CompiledRules) -> None:
    text = "Call [PERSON_1] on [CN_PHONE_2]."
    filt = StreamFilter(analyst_rules, None, detector=regex_detector, max_entity_len=TEST_MAX_ENTITY_LEN)
    assert run_chunks(filt, chars(text)) == text
    assert filt.decisions == []


@pytest.mark.parametrize(
    "variant",
    ["[PERSON_1]", "PERSON_1", "[person_1]", "[PERSON 1]", "[ PERSON_1 ]", "person_1", "[Person_1]"],
)
def test_altered_token_variants_are_restored(analyst_rules: CompiledRules, variant: str) -> None:
    out = run_chunks(StreamFilter(analyst_rules, RESTORE), chars(f"Dear {variant}, hello."))
    assert out == "Dear Alice Zhang, hello."


def test_multiword_type_variant_and_unknown_number_stay_or_restore(analyst_rules: CompiledRules) -> None:
    out = run_chunks(
        StreamFilter(analyst_rules, RESTORE), chars("[CN PHONE 2] [PERSON_7] PERSON_12 XPERSON_1")
    )
    assert out == "13812345678 [PERSON_7] PERSON_12 XPERSON_1"


def test_restored_value_is_not_redacted_as_leaked_pii(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, RESTORE, detector=regex_detector, max_entity_len=TEST_MAX_ENTITY_LEN)
    out = run_chunks(filt, chars("Mail [EMAIL_ADDRESS_1] or call +1 415 555 0199."))
    assert out == "Mail alice@example.org or call [REDACTED_PHONE_NUMBER]."
    assert {(d.rule_id, d.action) for d in filt.decisions} == {
        ("EMAIL_ADDRESS", "restore"),
        ("PHONE_NUMBER", "pii_redact"),
    }


def test_leaked_pii_split_across_chunks_is_redacted(analyst_rules: CompiledRules) -> None:
    text = "Her card is 4111 1111 1111 1111 and mail bob.smith@example.com, ok"
    filt = StreamFilter(analyst_rules, None, detector=regex_detector, max_entity_len=TEST_MAX_ENTITY_LEN)
    out = run_chunks(filt, chars(text))
    assert out == "Her card is [REDACTED_CREDIT_CARD] and mail [REDACTED_EMAIL_ADDRESS], ok"


def test_custom_pii_token_is_used(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(
        analyst_rules,
        None,
        detector=regex_detector,
        max_entity_len=TEST_MAX_ENTITY_LEN,
        pii_token=lambda t: f"<{t}>",
    )
    assert run_chunks(filt, ["call 415-555-0199"]) == "call <PHONE_NUMBER>"


def test_detector_requires_a_bound() -> None:
    rules = compile_rules_for_role(parse_output_policy({}, "t"), [])
    with pytest.raises(ValueError, match="max_entity_len"):
        StreamFilter(rules, None, detector=regex_detector)


# ----------------------------------------------------------------------------- channels


def test_channels_are_independent(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, RESTORE)
    out: dict[str, str] = {"reasoning_content": "", "content": "", "tool_calls.0.arguments": ""}
    # Interleaved halves: neither channel's prefix may combine with the other's suffix.
    steps = [
        ("reasoning_content", "The user [PERS"),
        ("content", "sk-proj-"),
        ("tool_calls.0.arguments", '{"to": "[PERSON'),
        ("reasoning_content", "ON_1] asks."),
        ("content", "Ab3dEf6hIj9kLm2nOp5qRs8t done"),
        ("tool_calls.0.arguments", '_1]"}'),
    ]
    for channel, text in steps:
        out[channel] += filt.feed(channel, text).text
    for channel, result in filt.finish_all().items():
        out[channel] += result.text
    assert out == {
        "reasoning_content": "The user Alice Zhang asks.",
        "content": "[REDACTED:secret.openai_api_key] done",
        "tool_calls.0.arguments": '{"to": "Alice Zhang"}',
    }


def test_prefix_in_one_channel_does_not_combine_with_another(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, None)
    a = filt.feed("reasoning_content", "xx -----BEGIN RSA ").text
    b = filt.feed("content", "PRIVATE KEY----- is a header name").text + filt.finish("content").text
    assert not filt.blocked
    assert b == "PRIVATE KEY----- is a header name"
    assert a == "xx "


# ----------------------------------------------------------------------------- decisions & filter_text


def test_decisions_are_aggregated_per_rule_and_action(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, RESTORE)
    run_chunks(filt, chars(f"[PERSON_1] {SECRET} [PERSON_1] AKIAIOSFODNN7EXAMPLE {SECRET}."))
    assert {(d.rule_id, d.action, d.count) for d in filt.decisions} == {
        ("PERSON", "restore", 2),
        ("secret.openai_api_key", "redact", 2),
        ("secret.aws_access_key_id", "redact", 1),
    }


def test_filter_text_matches_the_streaming_result(analyst_rules: CompiledRules) -> None:
    text = f"Hi [PERSON_1], key {SECRET}, call 415-555-0199, guaranteed returns"
    streamed_filter = StreamFilter(
        analyst_rules, RESTORE, detector=regex_detector, max_entity_len=TEST_MAX_ENTITY_LEN
    )
    streamed = run_chunks(streamed_filter, chars(text))
    whole, decisions, blocked = filter_text(analyst_rules, RESTORE, text, detector=regex_detector)
    assert whole == streamed
    assert not blocked
    assert decisions == streamed_filter.decisions


def test_no_rules_passes_text_through(output_policy: OutputPolicy) -> None:
    rules = compile_rules_for_role(parse_output_policy({"secrets": {}}, "t"), ["analyst"])
    assert rules.pattern is None
    assert (
        filter_text(rules, None, "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t")[0] == "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"
    )


def test_detector_stride_still_catches_split_values_and_bounds_the_hold(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(
        analyst_rules, None, detector=regex_detector, max_entity_len=TEST_MAX_ENTITY_LEN, detector_stride=16
    )
    text = "Reach me at 415-555-0199 or bob@example.com. " * 20
    fed = released = 0
    out = []
    for ch in text:
        piece = filt.feed("content", ch).text
        out.append(piece)
        fed += 1
        released += len(piece)
        assert filt.held("content") <= TEST_MAX_ENTITY_LEN + 16
    out.append(filt.finish("content").text)
    assert "".join(out) == "Reach me at [REDACTED_PHONE_NUMBER] or [REDACTED_EMAIL_ADDRESS]. " * 20


# ----------------------------------------------------------------------------- names (clause by clause)

_NAMES = ("John Smith", "Margaret Holloway", "王建国")


def name_detector(text: str) -> list[FakeSpan]:
    """Finds a few fixed names, standing in for NER; records what it was asked."""
    name_detector.calls.append(text)  # type: ignore[attr-defined]
    spans = []
    for name in _NAMES:
        start = text.find(name)
        while start >= 0:
            spans.append(FakeSpan("PERSON", start, start + len(name)))
            start = text.find(name, start + 1)
    return spans


name_detector.calls = []  # type: ignore[attr-defined]


def _names_filter(rules: CompiledRules, window: int = 400) -> StreamFilter:
    name_detector.calls.clear()  # type: ignore[attr-defined]
    return StreamFilter(rules, None, name_detector=name_detector, max_clause_len=window)


def test_a_clause_that_may_hold_a_name_is_released_when_it_ends(analyst_rules: CompiledRules) -> None:
    filt = _names_filter(analyst_rules)
    assert filt.feed("content", "the results for ").text == "the results for "
    assert filt.feed("content", "John Sm").text == ""
    assert filt.feed("content", "ith were normal").text == ""
    assert filt.feed("content", ". Next").text == "[REDACTED_PERSON] were normal."
    assert filt.finish("content").text == " Next"
    assert [(d.rule_id, d.action, d.count) for d in filt.decisions] == [("PERSON", "pii_redact", 1)]


def test_the_name_detector_sees_each_clause_once(analyst_rules: CompiledRules) -> None:
    filt = _names_filter(analyst_rules)
    text = "Margaret Holloway was admitted. She is stable; her daughter visited. 王建国，男，已出院。"
    out = "".join(filt.feed("content", ch).text for ch in text) + filt.finish("content").text
    assert out == (
        "[REDACTED_PERSON] was admitted. She is stable; her daughter visited. [REDACTED_PERSON]，男，已出院。"
    )
    calls = name_detector.calls  # type: ignore[attr-defined]
    assert len(calls) == len(set(calls)) <= 6
    assert "".join(calls).count("Margaret Holloway") == 1


def test_titles_and_initials_do_not_end_a_clause(analyst_rules: CompiledRules) -> None:
    filt = _names_filter(analyst_rules)
    assert filt.feed("content", "Seen by Dr. ").text == ""
    assert filt.feed("content", "J. ").text == ""
    assert filt.feed("content", "John Smith today. ").text == "Seen by Dr. J. [REDACTED_PERSON] today. "


def test_lower_case_text_is_not_held_for_names(analyst_rules: CompiledRules) -> None:
    filt = _names_filter(analyst_rules)
    for word in "continue metformin and recheck in two weeks".split():
        assert filt.feed("content", word + " ").text == word + " "
    assert name_detector.calls == []  # type: ignore[attr-defined]


def test_a_long_clause_is_cut_at_a_space_within_the_window(analyst_rules: CompiledRules) -> None:
    filt = _names_filter(analyst_rules, window=60)
    fed = released = 0
    text = "Word " * 100
    for chunk in split_at(text, range(0, len(text), 3)):
        released += len(filt.feed("content", chunk).text)
        fed += len(chunk)
        assert fed - released <= filt.window
    assert released + len(filt.finish("content").text) == len(text)


def test_restored_tokens_are_not_given_to_the_name_detector(analyst_rules: CompiledRules) -> None:
    filt = StreamFilter(analyst_rules, {"[PERSON_1]": "John Smith"}, name_detector=name_detector)
    name_detector.calls.clear()  # type: ignore[attr-defined]
    out = run_chunks(filt, ["Ask [PER", "SON_1] about it. Done."])
    assert out == "Ask John Smith about it. Done."
    assert all("John" not in call and "PERSON" not in call for call in name_detector.calls)  # type: ignore[attr-defined]


def _run_words(filt: StreamFilter, text: str, size: int = 0) -> str:
    pieces = text.split(" ") if not size else [text[i : i + size] for i in range(0, len(text), size)]
    if not size:
        pieces = [p + " " for p in pieces[:-1]] + [pieces[-1]]
    return "".join(filt.feed("content", p).text for p in pieces) + filt.finish("content").text


@pytest.mark.parametrize("offset", [0, 7, 19, 33, 41, 58, 77])
def test_a_name_across_the_cut_of_a_long_clause_is_held_whole(
    analyst_rules: CompiledRules, offset: int
) -> None:
    # Long clauses (lists, JSON arguments) have no clause end for hundreds of characters.
    filler = "and then it was measured again, " * 6
    text = filler[:offset] + " John Smith signed " + filler + "end."
    for out in (
        _run_words(_names_filter(analyst_rules, window=60), text),
        _run_words(_names_filter(analyst_rules, window=60), text, size=1),
        _run_words(_names_filter(analyst_rules, window=60), text, size=3),
    ):
        assert "John" not in out and "Smith" not in out
        assert out.replace("[REDACTED_PERSON]", "John Smith") == text


def test_a_name_in_a_long_cjk_run_without_punctuation_is_held_whole(analyst_rules: CompiledRules) -> None:
    text = "患者入院后完善各项检查" * 5 + "王建国医生签字确认" + "复查结果正常无异常" * 5 + "。"
    for size in (1, 2, 7):
        out = _run_words(_names_filter(analyst_rules, window=40), text, size=size)
        assert "王建国" not in out
        assert out.replace("[REDACTED_PERSON]", "王建国") == text


def test_one_chunk_longer_than_the_window_does_not_split_a_name(analyst_rules: CompiledRules) -> None:
    filt = _names_filter(analyst_rules)
    out = filt.feed("content", "Seen by John Smith " + "x" * 390).text + filt.finish("content").text
    assert "Smith" not in out and out.startswith("Seen by [REDACTED_PERSON] ")
