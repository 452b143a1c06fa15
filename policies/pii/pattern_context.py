"""Context-word score boosts of the pattern-only path, with the same results as Presidio's
``LemmaContextAwareEnhancer`` over the detector's tokens-only artifacts, for a fraction of its cost.

Presidio builds full NLP artifacts (a lemma and a stop-word look-up for every token) and an
explanation per result; a result's boost depends only on the keyword lemmas around its first token.
This module tokenizes with the same spaCy tokenizer and reads only those lemmas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer, LemmaContextAwareEnhancer

# Keyword verdicts remembered per lemma of a common word (spaCy's vocabulary look-up is the cost);
# bounded.
_KEYWORD_LIMIT = 8192
# Tokens remembered per whitespace-separated piece of plain words; bounded.
_PIECE_LIMIT = 8192
# Runs of whitespace and of anything else; `\s` is `str.isspace`, as in spaCy's tokenizer.
_RUN_RE = re.compile(r"\s+|\S+")


class PatternContextBooster:
    """Raises the scores of pattern results next to their recognizer's context words, exactly as
    the analyzer's ``LemmaContextAwareEnhancer`` does with tokens-only NLP artifacts (lower-cased
    token text as the lemma, spaCy's stop-word and punctuation flags)."""

    def __init__(
        self,
        enhancer: ContextAwareEnhancer,
        make_doc: Callable[[str], Any],
        vocab: Any,
        plain_words: Collection[str] = frozenset(),
    ) -> None:
        if type(enhancer) is not LemmaContextAwareEnhancer or enhancer.context_matching_mode != "substring":
            raise TypeError(
                "PatternContextBooster reproduces LemmaContextAwareEnhancer in substring mode only"
            )
        self._factor = float(enhancer.context_similarity_factor)
        self._floor = float(enhancer.min_score_with_context_similarity)
        self._before = int(enhancer.context_prefix_count)
        self._after = int(enhancer.context_suffix_count)
        self._make_doc = make_doc
        self._vocab = vocab
        self._keyword_parts: dict[str, tuple[str, ...]] = {}
        self._plain_words = plain_words
        self._pieces: dict[str, tuple[tuple[str, int, int], ...]] = {}

    def boost(
        self, text: str, results: Sequence[RecognizerResult], recognizers: Mapping[str, EntityRecognizer]
    ) -> None:
        """Raise, in place, the score of each result with a context word among its surrounding
        keyword lemmas; ``recognizers`` by id. Raises ValueError where Presidio's enhancer does
        (a result start no token reaches)."""
        lemmas, starts, lengths = self.tokens(text)
        if not lemmas:
            return
        # NlpArtifacts.keywords: lemmas that are no stop word or punctuation, split at ":".
        keywords = {part for lemma in lemmas for part in self._parts(lemma)}
        for result in results:
            metadata = result.recognition_metadata
            if not metadata or RecognizerResult.RECOGNIZER_IDENTIFIER_KEY not in metadata:
                continue
            recognizer = recognizers.get(metadata[RecognizerResult.RECOGNIZER_IDENTIFIER_KEY])
            if recognizer is None or not recognizer.context:
                continue
            if metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            index = _token_at(result.start, starts, lengths)
            surrounding = _collect(lemmas, keywords, index, self._before + 1, -1)
            surrounding += _collect(lemmas, keywords, index, self._after + 1, 1)
            if any(word.lower() in keyword for word in recognizer.context for keyword in surrounding):
                score = max(result.score + self._factor, self._floor)
                result.score = min(score, ContextAwareEnhancer.MAX_SCORE)

    def tokens(self, text: str) -> tuple[list[str], list[int], list[int]]:
        """Lower-cased text, start and length of each token spaCy's tokenizer makes of ``text``.

        spaCy splits text at whitespace first and tokenizes each piece alone, so the pieces not
        remembered are tokenized here in one call (``_tokenize``), and the tokens of a piece made
        only of common words (English words, stop words, clinical terms, names that are also common
        words: "Will", "Brown") and punctuation are remembered (never those of a piece with another
        name, a number or anything else a request may carry). The tokens are spaCy's except where
        spaCy matches an emoticon across a space ("1:) )": ":))" over ": ) )" keeps ":)" apart;
        "(: o.O" splits "o." as "o" and "."): each piece is tokenized as spaCy does it alone, the
        same whatever else the text or the cache holds. spaCy's own cache of pieces is off
        inside the memory zone that keeps request text out of its vocabulary
        (``policies.pii.spacy_memory``).
        """
        found = list(pieces(text))
        known = [self._pieces.get(piece) for _, piece in found]
        missing = [i for i, tokens in enumerate(known) if tokens is None]
        if missing:
            for i, tokens in zip(missing, self._tokenize([found[i][1] for i in missing]), strict=True):
                known[i] = tokens
                if all(self._is_plain(lower) for lower, _, _ in tokens):
                    if len(self._pieces) >= _PIECE_LIMIT:
                        self._pieces.clear()
                    self._pieces[found[i][1]] = tokens
        lemmas: list[str] = []
        starts: list[int] = []
        lengths: list[int] = []
        for (start, _), piece_tokens in zip(found, known, strict=True):
            assert piece_tokens is not None
            for lower, offset, length in piece_tokens:
                lemmas.append(lower)
                starts.append(start + offset)
                lengths.append(length)
        return lemmas, starts, lengths

    def _tokenize(self, texts: list[str]) -> list[tuple[tuple[str, int, int], ...]]:
        """The tokens (lower-cased text, offset, length) of each piece in ``texts``, as spaCy makes
        them of the piece alone. Pieces of non-space characters go through spaCy in one call (a
        call costs more than the tokens of a short piece), two spaces apart: the second space is a
        token of its own, so no special case can match across two pieces and a piece's tokens never
        depend on which other pieces share the call. Whitespace pieces go one by one."""
        out: list[list[tuple[str, int, int]]] = [[] for _ in texts]
        words = [i for i, piece in enumerate(texts) if not piece.isspace()]
        joined_at: list[int] = []  # where each non-space piece starts in the joined text
        position = 0
        for i in words:
            joined_at.append(position)
            position += len(texts[i]) + 2
        if words:
            owner = 0
            for token in self._make_doc("  ".join(texts[i] for i in words)):  # one pass over the Doc
                while owner + 1 < len(words) and token.idx >= joined_at[owner + 1]:
                    owner += 1
                offset = token.idx - joined_at[owner]
                if offset < len(texts[words[owner]]):  # not the space token between two pieces
                    out[words[owner]].append((token.lower_, offset, len(token)))
        for i, piece in enumerate(texts):
            if piece.isspace():
                out[i] = [(token.lower_, token.idx, len(token)) for token in self._make_doc(piece)]
        return [tuple(tokens) for tokens in out]

    def _is_plain(self, lower: str) -> bool:
        """A token that is a plain word or has no letter or digit: never personal data."""
        return lower in self._plain_words or not any(char.isalnum() for char in lower)

    def _parts(self, lemma: str) -> tuple[str, ...]:
        parts = self._keyword_parts.get(lemma)
        if parts is None:
            lexeme = self._vocab[lemma]
            keep = not lexeme.is_stop and not lexeme.is_punct and lemma not in ("-PRON-", "be")
            parts = tuple(lemma.lower().split(":")) if keep else ()
            if self._is_plain(lemma):  # never remember a name, a number or an address
                if len(self._keyword_parts) >= _KEYWORD_LIMIT:
                    self._keyword_parts.clear()
                self._keyword_parts[lemma] = parts
        return parts


def pieces(text: str) -> Iterator[tuple[int, str]]:
    """(start, piece) of each piece spaCy's tokenizer reads alone: runs of non-space characters,
    and runs of whitespace less the single space that ends a preceding token."""
    for match in _RUN_RE.finditer(text):
        start = match.start()
        piece = match.group()
        if start and piece[0] == " " and piece.isspace():
            start += 1
            piece = piece[1:]
            if not piece:
                continue
        yield start, piece


def _token_at(start: int, starts: list[int], lengths: list[int]) -> int:
    """The first token at ``start`` or reaching past it (Presidio's ``_find_index_of_match_token``)."""
    for index, (token_start, length) in enumerate(zip(starts, lengths, strict=True)):
        if token_start == start or start < token_start + length:
            return index
    raise ValueError("no token at a result's start")


def _collect(lemmas: list[str], keywords: set[str], index: int, count: int, step: int) -> list[str]:
    """Up to ``count`` keyword lemmas from ``index`` on, walking by ``step``."""
    found: list[str] = []
    while 0 <= index < len(lemmas) and count > 0:
        lemma = lemmas[index].lower()
        if lemma in keywords:
            found.append(lemma)
            count -= 1
        index += step
    return found
