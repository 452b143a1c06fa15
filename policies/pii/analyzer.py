"""PIIDetector: Presidio's AnalyzerEngine with the project's recognizers, offline and cached."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import regex
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    IbanRecognizer,
    IpRecognizer,
)

from policies.errors import DetectionUnavailable
from policies.pii.after_word import AfterWordRecognizer
from policies.pii.cache import FindingCache
from policies.pii.config import PIIPolicy
from policies.pii.names_gate import NO_MODEL_NEEDED, RuleNames, RuleNamesArtifacts, explained_score
from policies.pii.names_lexicons import plain_words
from policies.pii.nlp import MODEL_NAME, NerOnlySpacyNlpEngine
from policies.pii.normalize import NormalizedText, normalize
from policies.pii.offload import CancelToken, current_cancel_token
from policies.pii.pattern_context import PatternContextBooster
from policies.pii.recognizers_accounts import ACCOUNT_KINDS
from policies.pii.recognizers_address_en import address_recognizers
from policies.pii.recognizers_coordinates import CoordinateRecognizer
from policies.pii.recognizers_devices import DEVICE_SERIAL, MacAddressRecognizer
from policies.pii.recognizers_en import (
    DRIVER_LICENSE,
    CardNumberRecognizer,
    EmailAddressRecognizer,
    FastPhoneRecognizer,
    PersonNerRecognizer,
    english_pattern_recognizers,
)
from policies.pii.recognizers_names import PersonNameRecognizer
from policies.pii.recognizers_plates import plate_recognizers
from policies.pii.recognizers_record_ids import RECORD_ID_KINDS
from policies.pii.recognizers_site import site_recognizers
from policies.pii.recognizers_spelled import SpelledDigitsRecognizer
from policies.pii.recognizers_zh import (
    BankCardRecognizer,
    ChineseAddressRecognizer,
    ChineseNameRecognizer,
    CnIdCardRecognizer,
    CnMobileRecognizer,
    CnPassportRecognizer,
)
from policies.pii.spacy_memory import VocabularyZone
from policies.pii.windows import WINDOW_CHARS as WINDOW_CHARS
from policies.pii.windows import WINDOW_OVERLAP as WINDOW_OVERLAP
from policies.pii.windows import Window, batches, split_windows


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value: entity type and half-open span of the ORIGINAL text."""

    entity_type: str
    start: int
    end: int
    score: float


# English NER can only find a name where a capitalized word is (any script: "Ólafur" too): text
# without one skips spaCy entirely (pure Chinese, numbers, lower-case code) and is only tokenized.
_NER_HINT_RE = regex.compile(r"\p{Lu}\p{Ll}")
# Candidates below this never matter to any profile; keeping them costs cache memory.
_SCORE_FLOOR = 0.3
# Entity types found by NER or word segmentation rather than by structure.
_NER_ENTITY_TYPES = frozenset({"PERSON"})
_windows = split_windows  # the name tests know

# Upper bound on the length, in the original text, of a structured identifier the output filter
# must still see whole: the longest (an IBAN of 34 characters, or an e-mail address) with room for
# separators and evasion characters between its digits. Streaming filters hold back this much.
MAX_STRUCTURED_LENGTH = 96

# Recognizers that report nothing but matches of their own ``patterns``, with the regex flags their
# analyze() matches with (None: the recognizer's ``global_regex_flags``). The pattern-only path
# runs one of them only when one of its patterns matches: a search per pattern, with the same
# engine (``regex``) and flags, costs far less than analyze() with its explanations and logging.
_MATCH_ONLY_FLAGS: dict[type[EntityRecognizer], int | None] = {
    PatternRecognizer: None,  # site patterns from the policy
    EmailAddressRecognizer: None,
    CardNumberRecognizer: None,  # Presidio's CreditCardRecognizer, some matches dropped
    IbanRecognizer: None,
    IpRecognizer: None,
    CnIdCardRecognizer: None,
    CnMobileRecognizer: None,
    BankCardRecognizer: None,
    CnPassportRecognizer: re.DOTALL | re.MULTILINE,  # matches case-sensitively
}


# What every pattern of a recognizer needs, tested before its patterns: all of IpRecognizer's
# need a ":" (IPv6) or a digit, a dot and a digit (IPv4); its IPv6 pattern alone costs more than the
# rest of the pattern checks together.
_DIGIT_DOT_DIGIT = regex.compile(r"\d\.\d")
_MATCH_NEEDS: dict[type[EntityRecognizer], Callable[[str], bool]] = {
    IpRecognizer: lambda text: ":" in text or _DIGIT_DOT_DIGIT.search(text) is not None,
}


@dataclass(frozen=True, slots=True)
class _PatternStep:
    """One recognizer of the pattern-only path, and what decides whether it runs and whether
    Presidio's context enhancer must look at its results."""

    recognizer: EntityRecognizer
    may_match: Callable[[str], bool] | None  # None: always run
    # Lower-cased context words. The enhancer compares them with lower-cased tokens, so a word
    # absent from the lower-cased text cannot raise a score (str.lower maps each character on its
    # own, except the Greek final sigma: a word with a sigma is always handed to the enhancer).
    context: tuple[str, ...]
    context_always: bool


class PIIDetector:
    """Finds personal data in text. Loads spaCy and jieba once; detection is cached per text."""

    def __init__(self, policy: PIIPolicy, cache_key: bytes, cache_entries: int = 10000) -> None:
        self._policy = policy
        self._engine = NerOnlySpacyNlpEngine(MODEL_NAME)
        self._engine.load()
        names = PersonNameRecognizer()
        recognizers: list[EntityRecognizer] = [
            PersonNerRecognizer(not_a_name=names.rejects),
            names,
            *english_pattern_recognizers(),
            CnIdCardRecognizer(),
            CnMobileRecognizer(),
            BankCardRecognizer(),
            CnPassportRecognizer(),
            ChineseNameRecognizer(),
            ChineseAddressRecognizer(),
            *address_recognizers(),
            *plate_recognizers(),
            AfterWordRecognizer((DRIVER_LICENSE, *ACCOUNT_KINDS, *RECORD_ID_KINDS, DEVICE_SERIAL)),
            CoordinateRecognizer(),
            MacAddressRecognizer(),
            SpelledDigitsRecognizer(),
            *site_recognizers(policy.custom_patterns),
        ]
        for recognizer in recognizers:
            recognizer.load()
            recognizer.is_loaded = True
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
        self._analyzer = AnalyzerEngine(
            registry=registry, nlp_engine=self._engine, supported_languages=["en"]
        )
        entity_types = sorted({e for r in recognizers for e in r.supported_entities})
        self.entity_types: tuple[str, ...] = tuple(entity_types)
        self._pattern_entity_types = [e for e in entity_types if e not in _NER_ENTITY_TYPES]
        # The recognizers AnalyzerEngine.analyze would pick for these entity types, in a fixed order.
        selected = set(registry.get_recognizers("en", entities=self._pattern_entity_types))
        self._pattern_steps = tuple(_pattern_step(r) for r in recognizers if r in selected)
        self._pattern_recognizers = {step.recognizer.id: step.recognizer for step in self._pattern_steps}
        # detect_identifiers runs libphonenumber's recognizer last, where it skips numbers that
        # other recognizers already cover (its parse is the costliest step of a stream chunk).
        self._identifier_steps = tuple(
            sorted(self._pattern_steps, key=lambda step: isinstance(step.recognizer, FastPhoneRecognizer))
        )
        nlp = self._engine.nlp["en"]  # type: ignore[index]
        self._booster = PatternContextBooster(
            self._analyzer.context_aware_enhancer,
            nlp.make_doc,
            nlp.vocab,
            plain_words(nlp.Defaults.stop_words),
        )
        # What spaCy learns from request text is freed again (policies.pii.spacy_memory).
        self._zone = VocabularyZone(nlp)
        self._all_entity_types = list(entity_types)
        self._names = names
        self._explained_score = explained_score(profile.min_score for profile in policy.profiles.values())
        self._name_recognizers = tuple(_name_recognizer(r) for r in recognizers if r not in selected)
        # The artifacts of a text NER does not run on: names are found without the model's entities.
        self._no_entities = NlpArtifacts([], None, [], [], self._engine, "en")  # type: ignore[arg-type]
        self._cache: FindingCache[tuple[Finding, ...]] = FindingCache(cache_key, cache_entries)
        self.analyzer_calls = 0

    @property
    def max_pattern_length(self) -> int:
        """How long a structured identifier can be; the streaming output filter's hold-back window."""
        return MAX_STRUCTURED_LENGTH

    @property
    def cache(self) -> FindingCache[tuple[Finding, ...]]:
        """The detection cache (exposed for metrics and tests)."""
        return self._cache

    def detect(self, text: str, cancel: CancelToken | None = None) -> list[Finding]:
        """All findings in ``text``, offsets on the original text; raises DetectionUnavailable."""
        return self.detect_many([text], cancel)[0]

    def detect_many(self, texts: Sequence[str], cancel: CancelToken | None = None) -> list[list[Finding]]:
        """Findings for each text; texts not in the cache go through spaCy in batches of windows.

        ``cancel`` (default: the token of the DetectionPool step running this call, if any) is
        checked between texts and between windows; once it is set, DetectionCancelled is raised
        there.
        """
        try:
            with self._zone.entered():
                return self._detect_many(texts, cancel or current_cancel_token())
        except DetectionUnavailable:
            raise
        except Exception as exc:
            # The cause is dropped on purpose: library messages may quote the text.
            raise DetectionUnavailable(f"PII detection failed ({type(exc).__name__})") from None

    def detect_patterns_only(self, text: str) -> list[Finding]:
        """Structured identifiers only (no NER, no name segmentation); not cached. Cheap.

        The same findings as Presidio's AnalyzerEngine over the pattern recognizers
        (``_detect_patterns_reference``), for a fraction of the cost on short texts.
        """
        return self._pattern_findings(text, boost_all=True)

    def detect_identifiers(self, text: str) -> list[Finding]:
        """What the output filter redacts: the characters ``detect_patterns_only`` covers, for less.

        Every finding the pattern path keeps is redacted whatever its score, so context words are
        read (spaCy's tokenizer, the costliest step on short texts) only for findings below the
        floor that a context word could lift over it. A finding's score, and so which of two
        overlapping findings names the redacted span, may differ from ``detect_patterns_only``;
        the characters covered do not (tested on the project corpus and on random mixes).
        """
        return self._pattern_findings(text, boost_all=False)

    def detect_names_by_rules(self, text: str) -> list[Finding]:
        """Person names the name recognizers find without NER (English name rules and lexicons,
        Chinese names); not cached. What a stream looks for around each name in progress
        (``pii.stream_names``): a few hundred microseconds where NER takes milliseconds.

        Raises DetectionUnavailable where the recognizers fail (the stream then ends)."""
        try:
            norm = normalize(text)
            with self._zone.entered():
                names = self._rule_names(norm.text)
                artifacts: NlpArtifacts = (
                    self._no_entities
                    if names is NO_MODEL_NEEDED
                    else RuleNamesArtifacts(names.names, self._engine)
                )
                return _to_findings(norm, self._scan_names(norm.text, artifacts))
        except Exception as exc:
            # The cause is dropped on purpose: library messages may quote the text.
            raise DetectionUnavailable(f"PII detection failed ({type(exc).__name__})") from None

    def _pattern_findings(self, text: str, boost_all: bool) -> list[Finding]:
        try:
            norm = normalize(text)
            self.analyzer_calls += 1
            return _to_findings(norm, self._scan_patterns(norm.text, boost_all))
        except Exception as exc:
            # The cause is dropped on purpose: library messages may quote the text.
            raise DetectionUnavailable(f"PII detection failed ({type(exc).__name__})") from None

    def _detect_patterns_reference(self, text: str) -> list[Finding]:
        """``detect_patterns_only`` the plain way, through AnalyzerEngine.analyze (for tests)."""
        norm = normalize(text)
        with self._zone.entered():
            return self._analyze(norm, self._engine.tokens_only(norm.text), self._pattern_entity_types)

    def _scan_patterns(self, text: str, boost_all: bool = True) -> list[RecognizerResult]:
        """What AnalyzerEngine.analyze returns for the pattern entity types, without the work that
        cannot change it: recognizers none of whose patterns match, tokenization and context
        enhancement where no context word occurs, and the enhancer's NLP artifacts, explanations
        and deep copy of the results (PatternContextBooster gives the same scores). Without
        ``boost_all`` only results below the floor are enhanced (``detect_identifiers``)."""
        entities = self._pattern_entity_types
        lowered: str | None = None
        plain: list[RecognizerResult] = []
        to_enhance: list[RecognizerResult] = []
        steps = self._pattern_steps if boost_all else self._identifier_steps
        for step in steps:
            if step.may_match is not None and not step.may_match(text):
                continue
            results: list[RecognizerResult]
            if not boost_all and isinstance(step.recognizer, FastPhoneRecognizer):
                # Last in this order: numbers inside what is redacted already are not parsed.
                covered = [(r.start, r.end) for r in plain if r.score >= _SCORE_FLOOR]
                results = step.recognizer.analyze(text, entities, None, covered=covered)
            else:
                # None of the pattern recognizers reads NLP artifacts; only the context enhancer does.
                results = step.recognizer.analyze(text, entities, None)  # type: ignore[arg-type]
            if not results:
                continue
            _set_recognizer_id(results, step.recognizer)
            if step.context:
                if lowered is None:
                    lowered = text.lower()
                if step.context_always or any(word in lowered for word in step.context):
                    if boost_all:
                        to_enhance.extend(results)
                        continue
                    to_enhance.extend(r for r in results if r.score < _SCORE_FLOOR)
                    plain.extend(r for r in results if r.score >= _SCORE_FLOOR)
                    continue
            plain.extend(results)
        if to_enhance:
            with self._zone.entered():  # the only step of this path that reads text with spaCy
                self._booster.boost(text, to_enhance, self._pattern_recognizers)
        kept = [result for result in (*plain, *to_enhance) if result.score >= _SCORE_FLOOR]
        deduplicated: list[RecognizerResult] = EntityRecognizer.remove_duplicates(kept)
        return deduplicated

    def _detect_many(self, texts: Sequence[str], cancel: CancelToken | None) -> list[list[Finding]]:
        results: list[list[Finding] | None] = [None] * len(texts)
        pending: dict[bytes, list[int]] = {}
        for index, text in enumerate(texts):
            if not text or text.isspace():
                results[index] = []
                continue
            key = self._cache.key(text)
            cached = self._cache.get(key)
            if cached is not None:
                results[index] = list(cached)
            else:
                pending.setdefault(key, []).append(index)
        if pending:
            keys = list(pending)
            unique = [texts[pending[key][0]] for key in keys]
            found: list[list[Finding]] = [[] for _ in keys]
            windows = [window for i, text in enumerate(unique) for window in split_windows(i, len(text))]
            for batch in batches(windows):
                if cancel is not None:
                    cancel.check()
                for window, findings in zip(batch, self._detect_batch(unique, batch, cancel), strict=True):
                    found[window.position].extend(_keep(window, findings))
                    if not window.last:
                        continue
                    kept = found[window.position]
                    merged = tuple(kept if window.first else _merge_windows(kept))
                    found[window.position] = []
                    key = keys[window.position]
                    self._cache.put(key, merged)
                    for index in pending[key]:
                        results[index] = list(merged)
        return [r if r is not None else [] for r in results]

    def _detect_batch(
        self, texts: Sequence[str], batch: Sequence[Window], cancel: CancelToken | None
    ) -> Iterator[list[Finding]]:
        """Findings in each window of ``batch``, offsets on the window, checking ``cancel`` between
        windows; the windows whose names NER could change go through spaCy as one batch."""
        normalized = [normalize(texts[window.position][window.start : window.end]) for window in batch]
        rule_names = [self._rule_names(norm.text) for norm in normalized]
        ner_positions = [i for i, names in enumerate(rule_names) if names.needs_model]
        artifacts: dict[int, NlpArtifacts] = {
            i: RuleNamesArtifacts(names.names, self._engine)
            for i, names in enumerate(rule_names)
            if not names.needs_model and names is not NO_MODEL_NEEDED
        }
        if ner_positions:
            processed = self._engine.process_batch(
                [normalized[i].text for i in ner_positions], "en", batch_size=max(1, len(ner_positions))
            )
            for position, item in zip(ner_positions, processed, strict=True):
                artifacts[position] = item[1]  # (text, artifacts) pairs
        for position, norm in enumerate(normalized):
            if cancel is not None and position:
                cancel.check()
            yield self._analyze(norm, artifacts.pop(position, self._no_entities), self._all_entity_types)

    def _rule_names(self, text: str) -> RuleNames:
        """The names the rules find in ``text`` without NER, and whether NER must run on it
        (``policies.pii.names_gate``)."""
        if not _NER_HINT_RE.search(text):
            return NO_MODEL_NEEDED
        return self._names.without_model(text, self._explained_score)

    def _scan_all(self, text: str, artifacts: NlpArtifacts) -> list[RecognizerResult]:
        """What AnalyzerEngine.analyze returns over every entity type, without its overhead: the
        pattern types through ``_scan_patterns``, names by their recognizers directly. AnalyzerEngine
        drops duplicates per entity type, so the two halves can be analyzed apart; none of the name
        recognizers has context words, so its context enhancer never changes their scores."""
        raw = self._scan_patterns(text)
        raw.extend(self._scan_names(text, artifacts))
        return raw

    def _scan_names(self, text: str, artifacts: NlpArtifacts) -> list[RecognizerResult]:
        """What the name recognizers find in ``text`` from the floor on, duplicates dropped."""
        names: list[RecognizerResult] = []
        for recognizer in self._name_recognizers:
            names.extend(recognizer.analyze(text, self._all_entity_types, artifacts) or [])
        kept = [result for result in names if result.score >= _SCORE_FLOOR]
        deduplicated: list[RecognizerResult] = EntityRecognizer.remove_duplicates(kept)
        return deduplicated

    def _detect_reference(self, text: str) -> list[Finding]:
        """``detect`` of a text up to WINDOW_CHARS the plain way (for tests; not cached): NER on
        any text with a capitalized word, then AnalyzerEngine.analyze over every entity type."""
        norm = normalize(text)
        with self._zone.entered():
            if _NER_HINT_RE.search(norm.text):
                artifacts = self._engine.process_batch([norm.text], "en", batch_size=1)
                artifact = next(iter(artifacts))[1]
            else:
                artifact = self._engine.tokens_only(norm.text)
            return self._analyze_with_engine(norm, artifact, list(self.entity_types))

    def _analyze(self, norm: NormalizedText, artifacts: NlpArtifacts, entities: list[str]) -> list[Finding]:
        """Findings of ``entities`` in one normalized text; over every type without AnalyzerEngine."""
        self.analyzer_calls += 1
        if entities == self._all_entity_types:
            return _to_findings(norm, self._scan_all(norm.text, artifacts))
        return self._analyze_with_engine(norm, artifacts, entities)

    def _analyze_with_engine(
        self, norm: NormalizedText, artifacts: NlpArtifacts, entities: list[str]
    ) -> list[Finding]:
        raw: list[RecognizerResult] = self._analyzer.analyze(
            norm.text, "en", entities=entities, nlp_artifacts=artifacts, score_threshold=_SCORE_FLOOR
        )
        return _to_findings(norm, raw)


def _name_recognizer(recognizer: EntityRecognizer) -> EntityRecognizer:
    own_enhancer = type(recognizer).enhance_using_context is not EntityRecognizer.enhance_using_context
    if recognizer.context or own_enhancer:
        # _scan_all skips the context enhancement of name findings: it would change their scores.
        raise TypeError(f"{type(recognizer).__name__} uses context words; _scan_all would skip them")
    if set(recognizer.supported_entities) - _NER_ENTITY_TYPES:
        raise TypeError(f"{type(recognizer).__name__} reports structured types; _scan_patterns must run it")
    return recognizer


def _pattern_step(recognizer: EntityRecognizer) -> _PatternStep:
    if type(recognizer).enhance_using_context is not EntityRecognizer.enhance_using_context:
        # _scan_patterns leaves out AnalyzerEngine's recognizer-level enhancement: none of ours has one.
        raise TypeError(f"{type(recognizer).__name__} enhances its own scores; _scan_patterns would skip it")
    context = tuple(word.lower() for word in recognizer.context or ())
    return _PatternStep(
        recognizer=recognizer,
        may_match=_any_pattern_matches(recognizer),
        context=context,
        context_always=any("σ" in word or "ς" in word for word in context),
    )


def _any_pattern_matches(recognizer: EntityRecognizer) -> Callable[[str], bool] | None:
    """Whether one of the recognizer's patterns matches, as its analyze() would match them; None
    when the recognizer is not known to report only pattern matches."""
    if type(recognizer) not in _MATCH_ONLY_FLAGS or not isinstance(recognizer, PatternRecognizer):
        return None
    flags = _MATCH_ONLY_FLAGS[type(recognizer)]
    if flags is None:
        flags = recognizer.global_regex_flags
    patterns = recognizer.patterns  # type: ignore[has-type]
    try:
        searches = [regex.compile(pattern.regex, flags).search for pattern in patterns]
    except regex.error:
        return None  # the recognizer itself fails on each call, as it always did

    needs = _MATCH_NEEDS.get(type(recognizer))

    def any_match(text: str) -> bool:
        if needs is not None and not needs(text):
            return False
        return any(search(text) is not None for search in searches)

    return any_match


def _set_recognizer_id(results: list[RecognizerResult], recognizer: EntityRecognizer) -> None:
    """Tag results with their recognizer, as AnalyzerEngine does: the context enhancer needs it."""
    for result in results:
        if not result.recognition_metadata:
            result.recognition_metadata = {}
        result.recognition_metadata.setdefault(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, recognizer.id)


def _to_findings(norm: NormalizedText, raw: list[RecognizerResult]) -> list[Finding]:
    """Trimmed findings on the original text, without those inside a stronger one."""
    findings: list[Finding] = []
    for result in raw:
        start, end = _trim(norm.text, result.start, result.end)
        if end <= start:
            continue
        ostart, oend = norm.to_original(start, end)
        findings.append(Finding(result.entity_type, ostart, oend, round(float(result.score), 4)))
    return _drop_contained(findings)


def _keep(window: Window, findings: list[Finding]) -> list[Finding]:
    """The findings (offsets on the window) that reach into its core, offsets on the text."""
    if window.first and window.last:
        return findings
    kept: list[Finding] = []
    for finding in findings:
        start, end = finding.start + window.start, finding.end + window.start
        if start < window.core_end and end > window.core_start:
            kept.append(Finding(finding.entity_type, start, end, finding.score))
    return kept


def _merge_windows(findings: list[Finding]) -> list[Finding]:
    """One text's findings from its windows: a finding reaching into two cores was kept by both
    windows (seen whole, with its context, by each), so it is kept once, at its best score."""
    best: dict[tuple[str, int, int], Finding] = {}
    for finding in findings:
        key = (finding.entity_type, finding.start, finding.end)
        if key not in best or finding.score > best[key].score:
            best[key] = finding
    return _drop_contained(list(best.values()))


def _drop_contained(findings: list[Finding]) -> list[Finding]:
    """Drop a finding inside another one that scores at least as high (a phone number
    read inside an IBAN, a name inside an address); keeps real overlaps for the caller."""
    findings.sort(key=lambda f: (f.start, -f.end, -f.score, f.entity_type))
    kept: list[Finding] = []
    # Kept findings that end after the current one starts: only those can contain it or a later one
    # (later ones start no earlier), so a long text's thousands of findings cost no quadratic time.
    reaching: list[Finding] = []
    for finding in findings:
        reaching = [other for other in reaching if other.end > finding.start]
        if any(
            other.start <= finding.start
            and finding.end <= other.end
            and other.score >= finding.score
            and (other.end - other.start, other.entity_type)
            != (finding.end - finding.start, finding.entity_type)
            for other in reaching
        ):
            continue
        kept.append(finding)
        reaching.append(finding)
    return kept


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding whitespace, and quotes or brackets that have no partner inside."""
    while start < end:
        if text[start].isspace() or (
            text[start] in _OPENERS and _OPENERS[text[start]] not in text[start:end]
        ):
            start += 1
        elif (
            text[end - 1].isspace()
            or text[end - 1] in _TRAILING
            or (text[end - 1] in _CLOSERS and _CLOSERS[text[end - 1]] not in text[start:end])
        ):
            end -= 1
        else:
            break
    return start, end


_OPENERS = {"(": ")", "[": "]", "{": "}", "<": ">", '"': '"', "'": "'"}
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<", '"': '"', "'": "'"}
_TRAILING = frozenset(",.;:")
