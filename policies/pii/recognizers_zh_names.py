"""Chinese person names in Han characters: surnames, cue words around a name, jieba's
part-of-speech tags, spaced and dotted (transliterated) names."""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.names_zh_chars import (
    CJK_RE,
    COMPOUND_SURNAMES,
    SINGLE_SURNAMES,
)
from policies.pii.names_zh_chars import CJK_RUN_RE as _CJK_RUN_RE
from policies.pii.names_zh_chars import FUNCTION_CHARS as _FUNCTION_CHARS
from policies.pii.names_zh_chars import NEVER_GIVEN as _NEVER_GIVEN
from policies.pii.names_zh_chars import NOT_GIVEN as _NOT_GIVEN
from policies.pii.names_zh_chars import SURNAME_ALT as _SURNAME_ALT
from policies.pii.names_zh_positions import given_char as _position_given_char
from policies.pii.names_zh_positions import institution_follows as _institution_follows
from policies.pii.names_zh_positions import positional_names as _positional_names
from policies.pii.names_zh_positions import surnames_before_titles as _surnames_before_titles
from policies.pii.recognizer_base import RuleRecognizer
from policies.pii.recognizers_zh_dotted import dotted_names as _dotted_names
from policies.pii.recognizers_zh_pinyin import LATIN_RE, NAME_PREFIXES, pinyin_lexicons, pinyin_names
from policies.pii.zh_script import to_simplified

_NAME_SUFFIX = tuple("先生 女士 小姐 医生 医师 大夫 患者 同志 老师 教授 主任 护士 经理 阿姨 叔叔".split())
_PREFIX_RE = re.compile(
    r"(?:(?:" + "|".join(NAME_PREFIXES) + r")|\d+\s?床)[:：\s]{0,2}"  # 8床李萱: a bed number
    r"(?P<name>(?:" + _SURNAME_ALT + r")[\u4e00-\u9fff]{1,2})"
)
_SUFFIX_RE = re.compile(
    r"(?P<name>(?:" + _SURNAME_ALT + r")[\u4e00-\u9fff]{1,2}?)(?:" + "|".join(_NAME_SUFFIX) + ")"
)
# A name opening a sentence or clause, right before a particle or a common verb: 李娜的银行卡...,
# 王芳说..., 张小明已经...
_CLAUSE_START_RE = regex.compile(
    r"(?:^|(?<=[。！？；，、,.!?;:：\s\"'“”‘’（）()【】\[\]]))(?P<name>(?:"
    + _SURNAME_ALT
    + r")[\u4e00-\u9fff]{1,2}?)(?=["
    + "的是在说来已于被把给对将也都就还今昨和与及跟因刚现要想会能去到又再从向称诉曾正"
    + r"]|[，,]\s?[男女][，,\s])",
    regex.MULTILINE,
)
# A JSON value that is a whole name, under a key that says so: "patient_name": "魏娟茗".
_JSON_NAME_RE = regex.compile(
    r'"[^"\n]{0,40}(?:name|姓名|名字|patient|customer|holder|contact|payee|payer|recipient|beneficiary|'
    r'联系人|患者|客户|收件人|收款人|付款人|开户人|持卡人|户名|家属|经办人|申请人)[^"\n]{0,20}"\s{0,3}:\s{0,3}"'
    r"(?P<name>(?:" + _SURNAME_ALT + r")[\u4e00-\u9fff]{1,2})\"",
    regex.IGNORECASE,
)
# A surname and a given name with a space between them: 张 伟, 欧阳 娜娜 (a full-width space is a
# space after normalization).
_SPACED_RE = regex.compile(r"(?P<surname>" + _SURNAME_ALT + r")[ \t]{1,2}(?P<given>[\u4e00-\u9fff]{1,2})")
# Non-name words that begin with a surname character (高血压, 黄疸, 王府井 ...) are rejected by
# asking jieba whether the candidate starts a dictionary word that is not a name.

__all__ = ["CJK_RE", "COMPOUND_SURNAMES", "SINGLE_SURNAMES", "ChineseNameRecognizer", "warm_up_jieba"]

_jieba_lock = threading.Lock()
_jieba_ready = False


def _posseg() -> Any:
    """Initialize jieba once, quietly (its dictionary ships inside the package)."""
    global _jieba_ready
    import jieba
    import jieba.posseg

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba.posseg


def warm_up_jieba() -> None:
    """Load jieba's dictionary now instead of on the first Chinese text."""
    _posseg().lcut("王小明")


def _surname_length(word: str) -> int:
    if word[:2] in COMPOUND_SURNAMES:
        return 2
    if word[:1] in SINGLE_SURNAMES:
        return 1
    return 0


def _trim_given(name: str) -> str:
    """Drop a trailing character that cannot be part of a given name."""
    surname = _surname_length(name)
    while len(name) > surname + 1 and name[-1] in _NOT_GIVEN:
        name = name[:-1]
    return name


class ChineseNameRecognizer(RuleRecognizer):
    """Chinese personal names, in characters and in pinyin.

    In characters: jieba ``nr`` words with a known surname; a surname and given name after a cue
    word (患者, 客户, 开户人 ...), before a title (先生, 医生 ...), opening a sentence before a particle
    (李娜的 ...), or with a space inside (张 伟); transliterated names with a middle dot in any of its
    forms (买买提·吐尔逊). Words that begin with a surname character (高血压, 马上, 王府井) are not
    names. In pinyin: see ``pinyin_names``.
    """

    entity_type = "PERSON"

    def load(self) -> None:
        warm_up_jieba()
        pinyin_lexicons()
        _not_names_by_first_char()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        found: dict[tuple[int, int], float] = {}
        if CJK_RE.search(text):
            # Read traditional characters as simplified (same offsets): 陳淑惠 as 陈淑惠.
            found.update(self._han_names(to_simplified(text)))
        if LATIN_RE.search(text):
            for start, end, score in pinyin_names(text):
                found[(start, end)] = max(found.get((start, end), 0.0), score)
        return [
            RecognizerResult("PERSON", start, end, score) for (start, end), score in sorted(found.items())
        ]

    def _han_names(self, text: str) -> dict[tuple[int, int], float]:
        pseg = _posseg()
        tokens: list[tuple[int, str, str]] = []
        for run in _CJK_RUN_RE.finditer(text):
            offset = run.start()
            for pair in pseg.cut(run.group(0)):
                tokens.append((offset, pair.word, pair.flag))
                offset += len(pair.word)
        starts = {start: (word, flag) for start, word, flag in tokens}
        boundaries = {start for start, _w, _f in tokens} | {start + len(word) for start, word, _f in tokens}
        token_start = {i: start for start, word, _f in tokens for i in range(start, start + len(word))}
        found: dict[tuple[int, int], float] = {}
        for start, end in self._tagged_names(tokens):
            if end - start == 3 and text[start] in _FUNCTION_CHARS and text[start + 1] in SINGLE_SURNAMES:
                start += 1  # 和|赵敏: jieba read the conjunction into the name
            name = text[start:end]
            if (
                not _looks_like_place(text, start, end)
                and _given_is_plausible(name)
                and not _common_word(name)
                and not _in_dictionary(name)
                and not _not_a_name(text, start)
            ):
                found[(start, end)] = 0.85
        for pattern in (_PREFIX_RE, _SUFFIX_RE):
            for match in pattern.finditer(text):
                start = match.start("name")
                surname = _surname_length(match.group("name"))
                title = next((t for t in _NAME_SUFFIX if text.startswith(t, start + surname)), None)
                if pattern is _PREFIX_RE and surname and title is not None:
                    # 客户王先生, 患者李女士: a surname and a title after the cue address a person; the
                    # title is no given name (王先|生 left 生 behind)
                    titled = (start, start + surname + len(title))
                    found[titled] = max(found.get(titled, 0.0), 0.8)
                    continue
                name = _trim_given(match.group("name"))
                cut = boundaries
                if len(name) < len(match.group("name")):
                    # The name ends before a character no given name has, even where jieba glued
                    # the two (粟|骁已|签署).
                    cut = cut | {start + len(name)}
                if (
                    pattern is _PREFIX_RE
                    and start not in boundaries
                    and token_start.get(start, -1) >= match.start()
                ):
                    # jieba read the cue's last character and the surname as one word (联系|人马|雨),
                    # or the whole cue and the surname (客户王|磊): the cue ends where the name begins.
                    cut = cut | {start}
                span = self._plausible_name(text, start, start + len(name), cut, starts)
                if span is not None and _refused_by_shape(text, span, match.start(), pattern is _PREFIX_RE):
                    span = None
                if span is not None:
                    found[span] = max(found.get(span, 0.0), 0.8)
        for match in _JSON_NAME_RE.finditer(text):
            start, end = match.span("name")
            if _given_is_plausible(match.group("name")) and not _not_a_name(text, start):
                found[(start, end)] = max(found.get((start, end), 0.0), 0.85)
        for match in _CLAUSE_START_RE.finditer(text):
            start, end = match.span("name")
            name = match.group("name")
            if (
                _given_is_plausible(name)
                and not _ordinary_compound_word(name)
                and not _common_word(name)
                and not (_in_dictionary(name) and not _word_tag(name).startswith("nr"))
                and name[_surname_length(name) :] not in _NAME_SUFFIX  # 向医生说明: a title, no name
                and not (
                    len(name) - _surname_length(name) == 2 and _word_frequency(text[end - 1 : end + 1]) >= 100
                )
                and start in boundaries
                and not _not_a_name(text, start)
            ):
                word, flag = starts.get(start, ("", ""))
                if len(word) <= len(name) or flag.startswith("nr"):
                    found[(start, end)] = max(found.get((start, end), 0.0), 0.75)
        for start, end, score in _spaced_names(text, boundaries):
            found[(start, end)] = max(found.get((start, end), 0.0), score)
        for start, end in _dotted_names(text):
            found[(start, end)] = max(found.get((start, end), 0.0), 0.85)
        for start, end in _compound_surname_names(text, boundaries, starts):
            found[(start, end)] = max(found.get((start, end), 0.0), 0.8)
        for start, end in _positional_names(
            text, tokens, boundaries, _word_frequency, _word_tag, _rejected_span(text)
        ):
            found[(start, end)] = max(found.get((start, end), 0.0), 0.7)
        covered = {i for s, e in found for i in range(s, e)}
        for start, end in _surnames_before_titles(text, boundaries):
            if start not in covered:
                found[(start, end)] = 0.6
        _extend_by_rare_characters(text, tokens, found)
        return found

    @staticmethod
    def _tagged_names(tokens: list[tuple[int, str, str]]) -> Iterator[tuple[int, int]]:
        index = 0
        while index < len(tokens):
            start, word, flag = tokens[index]
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            adjacent = following is not None and following[0] == start + len(word)
            if (
                following is not None
                and adjacent
                and _surname_length(word) == len(word)
                and following[2].startswith("nr")
                and len(following[1]) <= 2
            ):
                # A surname token followed by a given-name token: 黄 + 秀英, 欧阳 + 丽.
                yield start, start + len(word) + len(following[1])
                index += 2
                continue
            if flag.startswith("nr"):
                if (
                    following is not None
                    and adjacent
                    and following[2].startswith("nr")
                    and len(following[1]) == 1
                    and len(word) + 1 <= 4
                ):
                    # jieba sometimes splits a three-character name: 欧阳明 + 轩.
                    word = word + following[1]
                    index += 1
                surname = _surname_length(word)
                if surname and surname < len(word) <= surname + 2:
                    yield start, start + len(word)
            index += 1

    @staticmethod
    def _plausible_name(
        text: str, start: int, end: int, boundaries: set[int], starts: dict[int, tuple[str, str]]
    ) -> tuple[int, int] | None:
        """The longest name at ``start`` (ending at most at ``end``) that jieba does not read
        as an ordinary word: it must end on a word boundary (黄疸|指数 is no name) and not
        be one common dictionary word (高血压)."""
        if start not in boundaries:
            return None  # jieba reads the context word and the "surname" as one word: 联系方式
        surname = _surname_length(text[start:end])
        for stop in range(end, start + surname, -1):
            if stop not in boundaries or _looks_like_place(text, start, stop):
                continue
            if not _given_is_plausible(text[start:stop]) or _not_a_name(text, start):
                continue
            word, flag = starts.get(start, ("", ""))
            if word == text[start:stop] and not flag.startswith("nr") and _word_frequency(word) >= 50:
                return None
            if len(word) > stop - start and not flag.startswith("nr"):
                return None
            return start, stop
        return None


@functools.cache
def _not_names_by_first_char() -> dict[str, tuple[str, ...]]:
    text = resources.files("policies.pii").joinpath("data", "zh", "not_names.txt").read_text("utf-8")
    index: dict[str, list[str]] = {}
    for word in text.split("\n"):
        if word and not word.startswith("#"):
            index.setdefault(word[0], []).append(word)
    return {first: tuple(sorted(words, key=len, reverse=True)) for first, words in index.items()}


def _not_a_name(text: str, start: int) -> bool:
    """Whether a word of ``not_names.txt`` (华法林, 谷丙转氨酶, 康复科) starts at ``start``."""
    return any(
        text.startswith(word, start) for word in _not_names_by_first_char().get(text[start : start + 1], ())
    )


# Compound surnames that are ordinary words or place names as well (东方航空, 西门口, 百里, 南宫市):
# a name with one of these needs a cue word.
_AMBIGUOUS_COMPOUNDS = frozenset({"东方", "西门", "百里", "南宫", "钟离"})
_COMPOUND_RE = regex.compile(
    "(?:" + "|".join(c for c in COMPOUND_SURNAMES if c not in _AMBIGUOUS_COMPOUNDS) + r")[\u4e00-\u9fff]{1,2}"
)
# jieba's tags for a character it knows no word for (a morpheme, an unknown character): in a name
# after a surname these are given-name characters (卓|昕|璟, 车|曦|嵘).
_UNKNOWN_TAGS = frozenset({"g", "zg", "x", "y", "ng"})


def _ordinary_compound_word(name: str) -> bool:
    """东方航空, 西门口: an ambiguous compound surname and a word or a character no name has."""
    if name[:2] not in _AMBIGUOUS_COMPOUNDS:
        return False
    given = name[2:]
    return not all(_given_char(ch) for ch in given) or _is_vocabulary(given)


def _given_char(ch: str) -> bool:
    return bool(CJK_RE.match(ch)) and not (ch in _NOT_GIVEN or ch in _NEVER_GIVEN or ch in _FUNCTION_CHARS)


def _compound_surname_names(
    text: str, boundaries: set[int], starts: dict[int, tuple[str, str]]
) -> Iterator[tuple[int, int]]:
    """A compound surname (欧阳, 诸葛, 夏侯 ...) and one or two given-name characters, with no cue:
    these surnames are no ordinary words, so jieba's tags are not needed (西门 and 东方 are)."""
    for match in _COMPOUND_RE.finditer(text):
        start = match.start()
        if start not in boundaries or start + 2 not in boundaries or not _given_char(text[start + 2]):
            continue  # 上|官方: the "surname" is no word of its own
        end = start + 3
        word = starts.get(end, ("", ""))[0]
        if (
            end < match.end()
            and _given_char(text[end])
            and not _ends_given(text, end)
            and (end + 1 in boundaries or (len(word) > 1 and _word_frequency(word) < 100))
        ):
            end += 1  # 端木芊|骁来 (a rare pair), not 夏侯铭|需要
        name = text[start:end]
        if _given_is_plausible(name) and not _common_word(name) and not _not_a_name(text, start):
            yield start, end


def _extend_by_rare_characters(
    text: str, tokens: list[tuple[int, str, str]], found: dict[tuple[int, int], float]
) -> None:
    """Add the given-name characters jieba knows no word for to a name found, or to a lone surname
    it tagged ``nr``: 车曦 + 嵘, 卓 + 昕璟. A character of an ordinary word (望, 远) never extends one."""
    by_start = {start: (word, flag) for start, word, flag in tokens}
    candidates = [(start, end, found[(start, end)]) for start, end in found]
    candidates += [
        (start, start + 1, 0.8)
        for start, word, flag in tokens
        if flag.startswith("nr") and word in SINGLE_SURNAMES
    ]
    for start, stop, score in candidates:
        surname = _surname_length(text[start:stop])
        if not surname or stop - start > surname + 1:
            continue
        end = stop
        while end - start < surname + 2:
            following = by_start.get(end)
            if following is None or len(following[0]) != 1 or following[1] not in _UNKNOWN_TAGS:
                break
            if not _given_char(following[0]):
                break
            end += 1
        if end == stop:
            continue  # nothing to add
        name = text[start:end]
        plausible = _given_is_plausible(name) and not _not_a_name(text, start)
        if plausible and not _looks_like_place(text, start, end):
            found.pop((start, stop), None)
            found[(start, end)] = max(found.get((start, end), 0.0), score)


# Cue words that are verbs: what follows them is often a thing or a department (通知管床医生,
# 发给师傅), so the name must look like one by itself.
_VERB_CUES = ("联系", "致电", "通知", "转告", "发给", "交给", "转交", "陪同", "委托")


def _refused_by_shape(text: str, span: tuple[int, int], cue_start: int, after_cue: bool) -> bool:
    """A name after a verb or before a title that is a word or a particle and a word: 师傅, 顾问,
    管床 (床 is in no given name), 应急办, 和主管 (护士). After a noun cue (患者, 持卡人) a dictionary
    name stays a name (王晓东, 苏军)."""
    start, end = span
    name = text[start:end]
    surname = _surname_length(name)
    if _institution_follows(text, end, _word_frequency):
        return True
    verb_cue = after_cue and text[cue_start:start].rstrip(":： \t").endswith(_VERB_CUES)
    if after_cue and not verb_cue:
        return False
    if not all(_position_given_char(ch) for ch in name[surname:]):
        return True
    if surname == 1 and len(name) == 3 and _is_vocabulary_or_place(name[:2]):
        return True  # 应急|办, 常熟|农商行, 金融|部
    if _word_frequency(name) >= 1000 or (_in_dictionary(name) and not _word_tag(name).startswith("nr")):
        return True  # 师傅, 顾问: jieba tags them nr, but they are too frequent for names
    return not after_cue and text[start] in _FUNCTION_CHARS and _is_vocabulary(name[1:])


def _in_dictionary(word: str) -> bool:
    """A word of jieba's dictionary (frequency 0 marks a prefix of longer words, not a word)."""
    return _word_frequency(word) >= 5


def _is_vocabulary_or_place(word: str) -> bool:
    return _word_frequency(word) >= 100 and not _word_tag(word).startswith("nr")


def _rejected_span(text: str) -> Callable[[int, int], bool]:
    def reject(start: int, end: int) -> bool:
        return _not_a_name(text, start) or _looks_like_place(text, start, end)

    return reject


def _given_is_plausible(name: str) -> bool:
    """Whether the characters after the surname can be a given name."""
    given = name[_surname_length(name) :]
    return bool(given) and not any(ch in _NEVER_GIVEN for ch in given)


def _common_word(word: str) -> bool:
    """A dictionary word that is not a name: jieba's tag is not ``nr``, or it is so frequent that
    the tag is noise (安静, 康复 and 齐全 are tagged ``nr``; 李娜, at 438, is a name)."""
    frequency = _word_frequency(word)
    if frequency < 50:
        return False
    return frequency >= 500 or not _word_tag(word).startswith("nr")


def _word_tag(word: str) -> str:
    _posseg()
    import jieba.posseg

    return str(jieba.posseg.dt.word_tag_tab.get(word, ""))


def _spaced_names(text: str, boundaries: set[int]) -> Iterator[tuple[int, int, float]]:
    """张 伟, 欧阳 娜娜: a surname, one or two spaces, one or two given-name characters."""
    for match in _SPACED_RE.finditer(text, overlapped=True):
        start = match.start("surname")
        surname, given = match.group("surname"), match.group("given")
        if len(given) == 2 and _ends_given(text, match.start("given") + 1):
            given = given[:1]
        if given[0] in _FUNCTION_CHARS or given in _NAME_SUFFIX or not _given_is_plausible(surname + given):
            continue  # 王 的, 王 先生
        cue = _ends_with_cue(text, start)
        if not (start == 0 or not CJK_RE.match(text, start - 1) or start in boundaries or cue):
            continue  # the "surname" ends a word: 结果高 风险
        if _common_word(surname + given):
            continue  # 马 上, 黄 疸
        if len(given) == 2 and not cue and _is_vocabulary(given):
            continue  # 高 风险
        end = match.start("given") + len(given)
        yield start, end, 0.85 if cue else 0.7


def _ends_given(text: str, position: int) -> bool:
    """Whether ``text[position]`` is past the given name: a character no given name has, or one that
    begins a word with what follows (张 伟今日, 王 芳说); 志 in 苏 然志 stays."""
    ch = text[position]
    if ch in _NEVER_GIVEN or ch in _FUNCTION_CHARS:
        return True
    word = text[position : position + 2]
    return ch in _NOT_GIVEN and len(word) == 2 and _word_frequency(word) >= 100


def _ends_with_cue(text: str, position: int) -> bool:
    before = text[max(0, position - 6) : position].rstrip(":： \t")
    return before.endswith(NAME_PREFIXES) or bool(regex.search(r"\d\s?床$", before))


def _is_vocabulary(word: str) -> bool:
    """A frequent dictionary word of an ordinary part of speech (风险, 方案), not a name or place."""
    tag = _word_tag(word)
    return _word_frequency(word) >= 100 and not tag.startswith(("nr", "ns", "nz"))


def _word_frequency(word: str) -> int:
    import jieba

    return int(jieba.dt.FREQ.get(word) or 0)


_PLACE_SUFFIXES = frozenset("路街区县市省镇村道巷里乡州城庄")  # 石家庄, 金融城 (jieba: nr)


def _looks_like_place(text: str, start: int, end: int) -> bool:
    return text[end - 1] in _PLACE_SUFFIXES or (end < len(text) and text[end] in _PLACE_SUFFIXES)
