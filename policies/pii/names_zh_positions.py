"""Chinese names with no cue word, found by their place in the sentence: the object of a verb that
takes a person (请联系王芳确认, 把报告发给张伟), a subject opening a clause before its predicate
(王芳今天复诊), an item of a list with 、, a quoted name, a name after a preposition (由/和/与/跟/给/
让/叫/请...) or before a title (王芳医生). Both sides must say so: what comes before the name and
what comes after it (a predicate, a particle, punctuation, a title)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import regex

from policies.pii.names_zh_chars import (
    CJK_RE,
    COMPOUND_SURNAMES,
    FUNCTION_CHARS,
    NEVER_GIVEN,
    NOT_GIVEN,
    SINGLE_SURNAMES,
)

# Verbs and prepositions that take a person as their object, right before the name. Longer forms
# first is not needed: the look-behind tests each one at the same position.
_BEFORE = (
    "联系 通知 转告 告知 告诉 提醒 通报 发给 交给 转给 寄给 递给 汇给 打给 转账给 给 让 叫 请 由 和 与 "
    "跟 同 替 帮 被 找 见到 看到 遇到 看看 看望 探视 查一下 查查 核实 安排 需要 退还 冻结了 完成 陪 陪同 "
    "嘱 嘱咐 询问 问 麻烦 拜托 委托 授权 感谢 谢谢 是 为 向 对 把 将 及 或 等 还有 有 了 过 一下 不到"
    # Verbs whose object is a person's record, the person its owner before 的 (总结陈淑惠的病历,
    # 调取王磊的账户流水): the right side still has to be a particle, a predicate or punctuation.
    " 总结 整理 汇总 查询 调取 调阅 打印 复印 更新 核对 审核 查看 提供 上传 下载"
).split()
# Openers of a clause, a list item or a quotation.
_OPENERS = "。！？；，、,.!?;:：\n\"'“”‘’「『（(【[ "
_CLOSERS = frozenset("。！？；，、,.!?;:：\n\"'“”‘’」』）)】] \t")
# jieba's tags of a word that may follow a subject or an object: verbs, adverbs, time words,
# prepositions, conjunctions, particles, numerals and measure words (时仁五千元, 王芳两位).
_PREDICATE_TAGS = ("v", "d", "t", "p", "c", "u", "m", "q", "f", "r", "a", "ad", "vn")
_TITLES = (
    "先生 女士 小姐 医生 医师 大夫 患者 同志 老师 教授 主任 护士 护士长 经理 主管 行长 律师 会计 本人 两位 "
    "三位 几位 等人 一起 夫妇"
).split()
_SURNAME = "(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SINGLE_SURNAMES)) + "])"
_CANDIDATE_RE = regex.compile(
    r"(?:(?<=^|[" + regex.escape(_OPENERS) + r"])|(?<=" + "|".join(_BEFORE) + r"))"
    r"(?P<surname>" + _SURNAME + r")(?=[\u4e00-\u9fff])",
    regex.MULTILINE,
)

Frequency = Callable[[str], int]
Tag = Callable[[str], str]
Reject = Callable[[int, int], bool]


def positional_names(
    text: str,
    tokens: list[tuple[int, str, str]],
    boundaries: set[int],
    frequency: Frequency,
    tag: Tag,
    reject: Reject,
) -> Iterator[tuple[int, int]]:
    """Names with one or two given-name characters between a left and a right context that both
    say "a person here". ``reject(start, end)`` is the recognizer's own refusal (a listed non-name,
    a place)."""
    covering = _covering_tokens(tokens)
    for match in _CANDIDATE_RE.finditer(text):
        start = match.start("surname")
        surname = len(match.group("surname"))
        if start not in boundaries and not _token_is_unknown(covering.get(start), frequency):
            continue  # 联系方式: the "surname" is part of a word
        second = covering.get(start + 1)
        if surname == 2 and start + 2 not in boundaries and second is not None and second[0] == start + 1:
            if frequency(second[1]) > 0 and not tag(second[1]).startswith("nr"):
                continue  # 上|官方网站: the second surname character starts a word
        end = _name_end(text, start, surname, boundaries, covering, frequency, tag)
        if end is None or reject(start, end) or institution_follows(text, end, frequency):
            continue
        name = text[start:end]
        if frequency(name) >= 5 or _first_word_is_longer(covering.get(start), start, end, frequency, tag):
            continue  # 方案, 华夏银行: a word, not a name
        if surname == 1 and end - start == 3:
            if _is_vocabulary(name[:2], frequency, tag):
                continue  # 金融|部, 常熟|农商行: a word and the next one's first character
            if text[start] in FUNCTION_CHARS and _is_vocabulary(name[1:], frequency, tag):
                continue  # 和|大堂经理: a particle and a word
        yield start, end


def _covering_tokens(tokens: list[tuple[int, str, str]]) -> dict[int, tuple[int, str, str]]:
    return {i: token for token in tokens for i in range(token[0], token[0] + len(token[1]))}


def _token_is_unknown(token: tuple[int, str, str] | None, frequency: Frequency) -> bool:
    """A word jieba made up from characters it knows no word for (赖兰兰, 颖检)."""
    return token is not None and frequency(token[1]) == 0


def _first_word_is_longer(
    token: tuple[int, str, str] | None, start: int, end: int, frequency: Frequency, tag: Tag
) -> bool:
    if token is None or token[0] != start or len(token[1]) <= end - start:
        return False
    return frequency(token[1]) > 0 and not tag(token[1]).startswith("nr")


# Characters of NOT_GIVEN (they often follow a name) that are common in given names: 王志强, 李明.
_GIVEN_AS_WELL = frozenset("明志月可和理生华平")
# The last character of an institution's name; a "name" right before one is its first part
# (宁养院, 应急办, 金融部), unless a title follows (院长, 行长).
INSTITUTION_CHARS = frozenset("院科部办室处组局所厂站店行司队馆校社")


def given_char(ch: str) -> bool:
    """Whether ``ch`` may stand in a given name found by its position alone."""
    if not CJK_RE.match(ch) or ch in NEVER_GIVEN or ch in FUNCTION_CHARS:
        return False
    return ch not in NOT_GIVEN or ch in _GIVEN_AS_WELL


def institution_follows(text: str, end: int, frequency: Frequency | None = None) -> bool:
    """宁养|院, 应急|办, 明珠|分行: an institution's name goes on after the candidate (not 院长,
    行长). ``frequency`` (jieba's) lets a two-character word that ends in one count too."""
    if text[end - 1] in INSTITUTION_CHARS:
        return True
    for length in (1, 2):
        last = end + length - 1
        if last >= len(text) or text[last] not in INSTITUTION_CHARS or text[last + 1 : last + 2] == "长":
            continue
        if length == 1 or (frequency is not None and frequency(text[end : end + 2]) >= 100):
            return True
    return False


def _name_end(
    text: str,
    start: int,
    surname: int,
    boundaries: set[int],
    covering: dict[int, tuple[int, str, str]],
    frequency: Frequency,
    tag: Tag,
) -> int | None:
    """Where the name ends: two given-name characters, else one, followed by a right context."""
    for given in (2, 1):
        stop = start + surname + given
        if stop > len(text) or not all(given_char(ch) for ch in text[start + surname : stop]):
            continue
        title = text.startswith(tuple(_TITLES), stop)
        if given == 2 and not title and frequency(text[stop - 1 : stop + 1]) >= 100:
            continue  # 王芳|确认: the second character begins the next word
        if not _right_context(text, stop, frequency, tag):
            continue
        last = covering.get(stop - 1)
        if stop in boundaries or _token_is_unknown(last, frequency):
            return stop
        if last is not None and last[0] > start and frequency(last[1]) < 100:
            return stop  # 卢瀚|正说: jieba glued the last character to a rare pair
    return None


def _right_context(text: str, stop: int, frequency: Frequency, tag: Tag) -> bool:
    """What follows a name: the end, punctuation, a particle, a title, a predicate word."""
    if stop >= len(text) or text[stop] in _CLOSERS or not CJK_RE.match(text[stop]):
        return True
    if text[stop] in FUNCTION_CHARS or text.startswith(tuple(_TITLES), stop):
        return True
    for length in (4, 3, 2):
        word = text[stop : stop + length]
        if len(word) == length and frequency(word) >= 20 and tag(word).startswith(_PREDICATE_TAGS):
            return True
        if len(word) == length and frequency(word) >= 50 and not tag(word).startswith("nr"):
            return True  # 赖兰兰|空腹, 王芳|病历: a frequent word of any kind
    return text[stop] in NOT_GIVEN and text[stop] not in "人名生明可"


def _is_vocabulary(word: str, frequency: Frequency, tag: Tag) -> bool:
    return frequency(word) >= 100 and not tag(word).startswith("nr")


# A surname alone before a title: 王医生, 欧阳主任. Surnames that are also prepositions or verbs
# (向医生说明, 和护士沟通, 应医生要求) are left out.
_LONE_TITLES = (
    "医生 医师 大夫 主任 主管 护士长 护士 经理 行长 律师 会计 老师 教授 先生 女士 小姐 师傅 阿姨".split()
)
_NOT_LONE = frozenset("向和于对应时全为从")
_LONE_RE = regex.compile(r"(?P<surname>" + _SURNAME + r")(?=" + "|".join(_LONE_TITLES) + r")")


def surnames_before_titles(text: str, boundaries: set[int]) -> Iterator[tuple[int, int]]:
    """王医生, 李主任: a surname that jieba reads as a word of its own, then a title."""
    for match in _LONE_RE.finditer(text):
        start, end = match.span("surname")
        if start in boundaries and end in boundaries and text[start] not in _NOT_LONE:
            yield start, end
