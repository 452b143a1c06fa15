"""Names in streams by the name rules (``pii.stream_names``): only the name in progress is held, and
no cut lets a name (or a part of one) out."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.output.config import CompiledRules
from policies.output.name_runs import name_run_hold
from policies.output.stream_filter import StreamFilter
from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy


@pytest.fixture(scope="module")
def real_detector() -> PIIDetector:
    return PIIDetector(load_default_pii_policy(), cache_key=b"k" * 32, cache_entries=100)


def _filter(rules: CompiledRules, detector: PIIDetector) -> StreamFilter:
    """The stream filter as the gateway builds it by default (``pii.stream_names``)."""
    return StreamFilter(
        rules,
        None,
        detector=detector.detect_identifiers,
        max_entity_len=detector.max_pattern_length,
        name_detector=detector.detect_names_by_rules,
        name_holds="run",
    )


def _run(filt: StreamFilter, text: str, cuts: list[int]) -> str:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    out = [filt.feed("0.content", text[a:b]).text for a, b in itertools.pairwise(points)]
    out.append(filt.finish("0.content").text)
    return "".join(out)


# ----------------------------------------------------------------------------- where the hold starts


@pytest.mark.parametrize(
    ("text", "held"),
    [
        ("the dose was changed", ""),  # no capital letter: nothing held
        ("The", "The"),  # the word in progress may become a name
        ("The p", ""),  # a lower-case word began after a function word: no name
        ("If we", ""),
        ("The chart was reviewed by Marg", "Marg"),
        ("reviewed by Margaret Thompson", "Margaret Thompson"),
        # A run that may be a name waits for three complete words after it.
        ("reviewed by Margaret Thompson yesterday on the", "Margaret Thompson yesterday on the"),
        ("reviewed by Margaret Thompson yesterday on the ward", ""),
        ("Goldberg is very", "Goldberg is very"),
        ("Goldberg is very anxious about", ""),
        ("reviewed by Maria de", "Maria de"),  # a particle keeps the run open
        ("reviewed by Maria d", "Maria d"),  # ... as does the start of one
        ("reviewed by Maria de la Cruz on the ward today", ""),
        ("seen by Dr. Ok", "Dr. Ok"),  # a title's period does not end the clause or the run
        ("signed Gonzalez, Mar", "Gonzalez, Mar"),
        ("signed Gonzalez, 12 of the month", ""),
        ("Maria Gonzalez. The", "The"),  # the clause ended: only the new sentence's word
        ("Sta1lings is", "Sta1lings is"),  # letters mixed with digits count as capitalized
        ("She saw Ana Smith-Jo", "Ana Smith-Jo"),
        ("患者张", "患者张"),  # Chinese: the clause is held until it ends
        ("患者张伟今天来复诊，请", "请"),
    ],
)
def test_only_the_name_in_progress_is_held(text: str, held: str) -> None:
    cut, forced = name_run_hold(text, 0, len(text), 400)
    assert (text[cut:], forced) == (held, False)


def test_a_run_longer_than_the_window_is_cut() -> None:
    text = "Dear " + " ".join(["Aaron"] * 100)
    cut, forced = name_run_hold(text, 0, len(text), 100)
    assert forced and 0 < len(text) - cut <= 100


# ----------------------------------------------------------------------------- with the real detector

SENTENCES = [
    ("The patient is Maria Gonzalez and she is stable.", ["Maria", "Gonzalez"]),
    ("I spoke with Aisha Okafor about the results.", ["Aisha", "Okafor"]),
    ("Please ask Dr. Lefebvre to call back.", ["Lefebvre"]),
    ("Contact Nguyen Van Anh tomorrow morning.", ["Nguyen", "Anh"]),
    ("Signed: Thompson, Margaret (ward 4)", ["Thompson", "Margaret"]),
    ("Her daughter Ines de la Fuente visited.", ["Ines", "Fuente"]),
    ("PATIENT MARIA GONZALEZ WAS SEEN TODAY.", ["MARIA", "GONZALEZ"]),
    # Names the rules know by the words after them, at the start of a sentence.
    ("Goldberg is very anxious about the surgery tomorrow.", ["Goldberg"]),
    ("Strothman, could you check the INR before the next dose?", ["Strothman"]),
    # A name found once is looked for again in the rest of the answer.
    ("Reviewed Ferlin Junge on the ward round; Junge is keen to go home tomorrow.", ["Ferlin", "Junge"]),
    # The words before the name's line count: a signature.
    ("Best regards,\nKeelin", ["Keelin"]),
    ("患者张伟今天来复诊，血压正常。", ["张伟"]),
]


@pytest.mark.parametrize(("text", "parts"), SENTENCES)
def test_no_single_cut_lets_a_name_out(
    real_detector: PIIDetector, analyst_rules: CompiledRules, text: str, parts: list[str]
) -> None:
    """Whole and cut at every position, the same text goes out, and no part of the name."""
    whole = _run(_filter(analyst_rules, real_detector), text, [])
    assert "[REDACTED_PERSON]" in whole and not any(part in whole for part in parts), whole
    for cut in range(len(text) + 1):
        assert _run(_filter(analyst_rules, real_detector), text, [cut]) == whole, cut


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(SENTENCES), cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=10))
def test_many_cuts_let_no_name_out(
    real_detector: PIIDetector, analyst_rules: CompiledRules, case: tuple[str, list[str]], cuts: list[int]
) -> None:
    text, parts = case
    out = _run(_filter(analyst_rules, real_detector), text, cuts)
    assert not any(part in out for part in parts), out


def test_prose_goes_out_word_by_word(real_detector: PIIDetector, analyst_rules: CompiledRules) -> None:
    """Text without a name is held at most for a few words: a stream stays a stream."""
    text = "The dose of metformin stays at 500 mg twice daily. Blood pressure is fine."
    filt = _filter(analyst_rules, real_detector)
    released = ""
    for i, char in enumerate(text):
        released += filt.feed("0.content", char).text
        pending = text[len(released) : i + 1]
        # Held: the word in progress, or a capitalized word with at most three words after it
        # and the word in progress ("The" only until the next word begins).
        words = pending.split()
        assert len(words) <= (2 if words[:1] == ["The"] else 5), (i, pending)
        assert len(words) <= 1 or words[0][0].isupper(), (i, pending)
    released += filt.finish("0.content").text
    assert released == text


def test_names_by_run_are_cheap_enough_for_the_event_loop(
    real_detector: PIIDetector, analyst_rules: CompiledRules
) -> None:
    """The relay hands a chunk to a detection thread only when NER runs clause by clause."""
    assert not _filter(analyst_rules, real_detector).holds_clauses
    by_clause = StreamFilter(
        analyst_rules,
        None,
        detector=real_detector.detect_identifiers,
        max_entity_len=real_detector.max_pattern_length,
        name_detector=real_detector.detect,
    )
    assert by_clause.holds_clauses and by_clause.scans_names


def test_a_name_found_once_is_redacted_again_but_not_its_words_in_lower_case(
    real_detector: PIIDetector, analyst_rules: CompiledRules
) -> None:
    text = "I spoke with Will Brown today. BROWN agreed, and Brown will call; the brown folder is here."
    out = _run(_filter(analyst_rules, real_detector), text, [text.index("today") + 2])
    assert "Brown" not in out and "BROWN" not in out, out
    assert "will call" in out and "the brown folder" in out, out
