"""Chinese names written in pinyin ("Wang Xiaoming", "ZHANG Wei"), from the syllable and
surname lexicons shipped in ``policies/pii/data``, read once per process."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

import regex

# Words before a name in Chinese ("患者", "联系人", "丈夫"); the Han-name rules use them too.
NAME_PREFIXES = tuple(
    (
        "患者 病人 病患 客户 姓名 联系人 持卡人 户名 我叫 名叫 叫做 本人 家属 申请人 借款人 收款人 "
        "付款人 投保人 被保险人 监护人 就诊人 签名 经办人 开户人 收件人 收货人 寄件人 陪护 户主 车主 业主 "
        "丈夫 妻子 儿子 女儿 父亲 母亲 老公 老婆 爸爸 妈妈 哥哥 姐姐 弟弟 妹妹 "
        "联系 致电 通知 转告 发给 交给 转交 陪同 委托 医生 医师 主任 护士 经理 顾问"
    ).split()
)


@dataclass(frozen=True, slots=True)
class PinyinLexicons:
    """Lower-case lookups: pinyin syllables, the pinyin of the surname table, and English words
    that are also pinyin (he, long, fan, human)."""

    syllables: frozenset[str]
    surnames: frozenset[str]
    english: frozenset[str]


def _read_zh(name: str) -> frozenset[str]:
    text = resources.files("policies.pii").joinpath("data", "zh", name).read_text("utf-8")
    return frozenset(line for line in text.split("\n") if line and not line.startswith("#"))


@functools.cache
def pinyin_lexicons() -> PinyinLexicons:
    """The lists shipped in ``policies/pii/data/zh``, read once per process."""
    return PinyinLexicons(
        syllables=_read_zh("pinyin_syllables.txt"),
        surnames=_read_zh("pinyin_surnames.txt"),
        english=_read_zh("pinyin_english_words.txt"),
    )


LATIN_RE = re.compile(r"[A-Za-z]{2}")
# A Latin word, hyphenated or with an apostrophe between syllables (Xiao-Ming, Xi'an); CJK around it
# is a boundary (客户ouyang nana要求退款).
_LATIN_WORD_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]+(?:['’\-][A-Za-z]+)?(?![A-Za-z0-9])")
_PINYIN_GAP_RE = re.compile(r"[ \t]{1,2}|,[ \t]")
# Chinese words written in pinyin that are no person: two parts of a name shape, both pinyin.
PINYIN_PHRASES = frozenset(
    (
        "hong kong,tai chi,tai ji,feng shui,yin yang,qi gong,kung fu,gong fu,dim sum,wu shu,jiao zi,bao zi,"
        "mao tai,ma jiang,mah jong,xi an,shang hai,bei jing,tian jin,guang zhou,shen zhen,hang zhou,nan jing,"
        "su zhou,cheng du,chong qing,ping an,ren min,zhong guo,ni hao,xie xie,zai jian,yuan bao"
    ).split(",")
)
# Words that make a pinyin pair of two English words a name: a title, a role, a form label.
_PINYIN_CONTEXT_RE = regex.compile(
    r"(?:(?<![A-Za-z])(?:mr|mrs|ms|miss|mx|dr|prof|doctor|patient|pt|client|customer|name|named|contact|"
    r"holder|payee|beneficiary|signed|dear|attn|son|daughter|wife|husband|mother|father|nurse|"
    r"applicant|borrower|sender|recipient)\.?|"
    + "|".join(NAME_PREFIXES)
    + r"|拼音|英文名|姓名)[\s:：,]{0,3}$",
    regex.IGNORECASE,
)
_TITLE_RE = re.compile(r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|MR|MRS|MS|DR|PROF)\.?[ \t]{1,2}$")


def _casing(word: str) -> str:
    letters = word.replace("-", "").replace("'", "").replace("’", "")
    if letters.islower():
        return "lower"
    if letters.isupper() and len(letters) > 1:
        return "upper"
    parts = regex.split(r"['’\-]", word)
    if (
        parts[0][:1].isupper()
        and parts[0][1:].islower()
        and all(p.islower() or p.istitle() for p in parts[1:])
    ):
        return "title"
    return "mixed"


def _syllable_count(word: str, syllables: frozenset[str]) -> int:
    """How many pinyin syllables ``word`` is (1 or 2), 0 when it is not one or two syllables."""
    word = word.lower().replace("ü", "v").replace("u:", "v")
    parts = [p for p in regex.split(r"['’\-]", word) if p]
    if len(parts) == 2:
        return 2 if all(p in syllables for p in parts) else 0
    if len(parts) != 1:
        return 0
    word = parts[0]
    if word in syllables:
        return 1
    return 2 if any(word[:cut] in syllables and word[cut:] in syllables for cut in range(1, len(word))) else 0


def pinyin_names(text: str, lexicons: PinyinLexicons | None = None) -> list[tuple[int, int, float]]:
    """Chinese names in pinyin: a surname from the surname table's pinyin and a given name of one or
    two syllables, in either order (Zhang Wei, zhang wei, ZHANG Wei, Wei Zhang, Wang Xiao-Ming,
    ouyang nana), or a surname after a title (Mr. Wang).

    Both words lower case, or both capitalized or upper case (``Zhang wei`` too when neither is
    English). A part that is also an English word (he, long, fan, bin, ping, hang, man, an) counts
    only next to a part that is not; two such parts (he long, Fan Bin) are a name only after a
    title, a role or a form label (patient, Mr., 客户).
    """
    lex = lexicons or pinyin_lexicons()
    words = [(m.start(), m.end(), m.group(0)) for m in _LATIN_WORD_RE.finditer(text)]
    found: list[tuple[int, int, float]] = []
    index = 0
    while index < len(words):
        start, end, word = words[index]
        lower = word.lower()
        following = words[index + 1] if index + 1 < len(words) else None
        pair = (
            following is not None
            and (lower in lex.surnames or following[2].lower() in lex.surnames)
            and _PINYIN_GAP_RE.fullmatch(text, end, following[0]) is not None
        )
        result = _pinyin_pair(text, words, index, lex) if pair else None
        if result is not None:
            found.append(result[:3])
            index = result[3]
            continue
        if (
            lower in lex.surnames
            and _casing(word) in ("title", "upper")
            and _TITLE_RE.search(text, max(0, start - 8), start)
        ):
            found.append((start, end, 0.85))
        index += 1
    return found


def _pinyin_pair(
    text: str, words: list[tuple[int, int, str]], index: int, lex: PinyinLexicons
) -> tuple[int, int, float, int] | None:
    """A name made of ``words[index]`` and the word after it (and a third one-syllable word for
    a given name written in two words: Wang Xiao Ming): start, end, score, index after it."""
    (start, _end, first), (_start2, end, second) = words[index], words[index + 1]
    casings = (_casing(first), _casing(second))
    if "mixed" in casings or (casings[0] == "lower") != (casings[1] == "lower"):
        if casings != ("title", "lower"):
            return None
    a, b = first.lower(), second.lower()
    if f"{a} {b}" in PINYIN_PHRASES:
        return None
    comma = "," in text[_end:_start2]  # ZHANG, Wei: surname first
    surname_first = a in lex.surnames and _syllable_count(b, lex.syllables) > 0
    given_first = (
        b in lex.surnames
        and _syllable_count(a, lex.syllables) > 0
        and casings != ("title", "lower")
        and not comma
    )
    if not (surname_first or given_first):
        return None
    english = (a in lex.english or _joined(a) in lex.english) + (
        b in lex.english or _joined(b) in lex.english
    )
    if casings == ("title", "lower") and english:
        return None
    next_index = index + 2
    # Wang Xiao Ming: a second one-syllable given word, same casing, neither of them English.
    if surname_first and next_index < len(words) and english == 0:
        third_start, third_end, third = words[next_index]
        if (
            _PINYIN_GAP_RE.fullmatch(text, end, third_start) is not None
            and "," not in text[end:third_start]
            and _casing(third) == casings[1]
            and _syllable_count(b, lex.syllables) == 1
            and _syllable_count(third, lex.syllables) == 1
            and third.lower() not in lex.english
        ):
            end, next_index = third_end, next_index + 1
    if english == 0:
        return start, end, 0.85, next_index
    if english == 1:
        return start, end, 0.75, next_index
    if _PINYIN_CONTEXT_RE.search(text[max(0, start - 24) : start]):
        return start, end, 0.7, next_index
    return None


def _joined(word: str) -> str:
    return word.replace("-", "").replace("'", "").replace("’", "")
