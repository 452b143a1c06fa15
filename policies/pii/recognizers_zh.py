"""Presidio recognizers for Chinese identifiers, names and addresses.

Context words are checked on the raw text around a match (``context.has_context``):
Presidio's lemma-based context enhancer sees a run of Chinese characters as one token,
so it cannot find 护照 in 护照号码E12345678.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.checksums import is_luhn_valid, is_valid_cn_id
from policies.pii.context import has_context
from policies.pii.recognizer_base import RuleRecognizer

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


class _ContextPatternRecognizer(PatternRecognizer):
    """A pattern recognizer whose score rises to ``context_score`` near a context word."""

    CONTEXT_WORDS: tuple[str, ...] = ()
    CONTEXT_SCORE = 0.9

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            if has_context(text, result.start, result.end, self.CONTEXT_WORDS):
                result.score = max(result.score, self.CONTEXT_SCORE)
        return results


# First two digits of a resident ID: province-level division (GB/T 2260), Taiwan, Hong Kong, Macau.
_CN_ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82".split()
)


def is_plausible_cn_id(value: str) -> bool:
    """An 18-character resident ID shape with a real province code and a possible birth date,
    whatever its check character."""
    if len(value) != 18 or not value[:17].isdigit() or value[:2] not in _CN_ID_PROVINCES:
        return False
    try:
        birth = _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return 1900 <= birth.year and birth <= _dt.date.today()


class CnIdCardRecognizer(_ContextPatternRecognizer):
    """PRC resident identity number: 18 characters with a plausible region and birth date.

    A correct MOD 11-2 check character scores 1.0. A wrong one scores 0.6 (0.85 next to an ID
    word): a mistyped ID still identifies its holder, and one typo in 18 characters is common.
    """

    CONTEXT_WORDS = ("身份证", "证件", "id card", "identity", "resident id", "公民身份")
    CONTEXT_SCORE = 0.85  # for a wrong check character; a valid ID scores 1.0 anyway

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CN_ID_CARD",
            name="CnIdCardRecognizer",
            patterns=[Pattern("cn_id_18", r"(?<!\d)[1-9]\d{16}[\dXx](?![\dA-Za-z])", 0.6)],
            context=[],
            supported_language="en",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        if is_valid_cn_id(pattern_text):
            return True
        return None if is_plausible_cn_id(pattern_text) else False


class CnMobileRecognizer(_ContextPatternRecognizer):
    """Mainland mobile numbers (1[3-9] + 9 digits, optional +86 / 0086), as PHONE_NUMBER."""

    CONTEXT_WORDS = ("电话", "手机", "联系", "致电", "phone", "mobile", "tel", "call", "cell")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="CnMobileRecognizer",
            patterns=[
                Pattern("cn_mobile", r"(?<![\d+])(?:(?:\+|00)86[- ]?)?1[3-9]\d{9}(?!\d)", 0.75),
            ],
            context=[],
            supported_language="en",
        )


class BankCardRecognizer(_ContextPatternRecognizer):
    """Payment card numbers of 16-19 digits with a valid Luhn check, UnionPay 62 BINs first.

    Reported as CREDIT_CARD so that one policy entry covers every payment card.
    """

    CONTEXT_WORDS = ("卡号", "银行卡", "信用卡", "借记卡", "储蓄卡", "card", "account", "账号", "账户")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CREDIT_CARD",
            name="BankCardRecognizer",
            patterns=[
                Pattern("unionpay", r"(?<!\d)62\d{14,17}(?!\d)", 0.85),
                Pattern("card_16_19", r"(?<!\d)[3-6]\d{15,18}(?!\d)", 0.6),
            ],
            context=[],
            supported_language="en",
        )

    def validate_result(self, pattern_text: str) -> bool:
        if len(pattern_text) == 18 and is_plausible_cn_id(pattern_text):
            return False  # a resident ID, even one with a wrong check character
        return is_luhn_valid(pattern_text)


class CnPassportRecognizer(_ContextPatternRecognizer):
    """PRC passport numbers (E/G + 8 digits, E + letter + 7 digits, D/S/P + 7 digits).

    The shape alone is weak evidence, so only a context word (护照, passport) lifts
    the score above the usual threshold.
    """

    CONTEXT_WORDS = ("护照", "passport", "旅行证件", "travel document")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CN_PASSPORT",
            name="CnPassportRecognizer",
            patterns=[
                Pattern(
                    "cn_passport",
                    r"(?<![A-Za-z0-9])(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E?\d{7})(?![A-Za-z0-9])",
                    0.4,
                ),
            ],
            context=[],
            supported_language="en",
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        # Passport letters are upper case; do not let Presidio's IGNORECASE flag widen it.
        return super().analyze(text, entities, nlp_artifacts, re.DOTALL | re.MULTILINE)


# Common single-character surnames (covers most of the population) and compound surnames.
SINGLE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑"
    "景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "诸葛",
    "上官",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "端木",
    "独孤",
    "南宫",
    "西门",
    "轩辕",
    "呼延",
    "澹台",
    "太史",
    "申屠",
    "万俟",
    "闻人",
    "钟离",
    "百里",
)
_SURNAME_ALT = "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SINGLE_SURNAMES)) + "]"
# Characters that do not occur in given names but often follow a name in running text.
_NOT_GIVEN = set(
    "的是在于了和与及等说来去到住出男女岁年月日也都就被把给对向从自为身电手邮地证卡号护联主血服口今昨明因患已"
    "先医生士姐哥叔姨总经理老师同志教授主任护院科室病床查复诊诉称请让叫要想会能可将再又还并而但或吗呢吧啊哦"
    "现居曾原该此其每各某这那一二三四五六七八九十个位名次人"
)
_NAME_PREFIX = (
    "患者",
    "病人",
    "病患",
    "客户",
    "姓名",
    "联系人",
    "持卡人",
    "户名",
    "我叫",
    "名叫",
    "叫做",
    "本人",
    "家属",
    "申请人",
    "借款人",
    "收款人",
    "付款人",
    "投保人",
    "被保险人",
    "监护人",
    "就诊人",
    "签名",
    "经办人",
    "开户人",
    "联系",
    "致电",
    "通知",
    "转告",
    "发给",
    "交给",
    "转交",
    "陪同",
    "委托",
    "医生",
    "医师",
    "主任",
    "护士",
    "经理",
    "顾问",
)
_NAME_SUFFIX = (
    "先生",
    "女士",
    "小姐",
    "医生",
    "医师",
    "大夫",
    "患者",
    "同志",
    "老师",
    "教授",
    "主任",
    "护士",
    "经理",
    "阿姨",
    "叔叔",
)
_PREFIX_RE = re.compile(
    "(?:" + "|".join(_NAME_PREFIX) + r")[:：\s]{0,2}(?P<name>(?:" + _SURNAME_ALT + r")[\u4e00-\u9fff]{1,2})"
)
_SUFFIX_RE = re.compile(
    r"(?P<name>(?:" + _SURNAME_ALT + r")[\u4e00-\u9fff]{1,2}?)(?:" + "|".join(_NAME_SUFFIX) + ")"
)
# Non-name words that begin with a surname character (高血压, 黄疸, 王府井 ...) are rejected by
# asking jieba whether the candidate starts a dictionary word that is not a name.

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
    """Chinese personal names: jieba ``nr`` words with a known surname, plus context patterns."""

    entity_type = "PERSON"

    def load(self) -> None:
        warm_up_jieba()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "PERSON" not in entities or not CJK_RE.search(text):
            return []
        pseg = _posseg()
        tokens: list[tuple[int, str, str]] = []
        for run in _CJK_RUN_RE.finditer(text):
            offset = run.start()
            for pair in pseg.cut(run.group(0)):
                tokens.append((offset, pair.word, pair.flag))
                offset += len(pair.word)
        starts = {start: (word, flag) for start, word, flag in tokens}
        boundaries = {start for start, _w, _f in tokens} | {start + len(word) for start, word, _f in tokens}
        found: dict[tuple[int, int], float] = {}
        for start, end in self._tagged_names(tokens):
            if not _looks_like_place(text, start, end):
                found[(start, end)] = 0.85
        for pattern in (_PREFIX_RE, _SUFFIX_RE):
            for match in pattern.finditer(text):
                start = match.start("name")
                name = _trim_given(match.group("name"))
                span = self._plausible_name(text, start, start + len(name), boundaries, starts)
                if span is not None:
                    found[span] = max(found.get(span, 0.0), 0.8)
        return [
            RecognizerResult("PERSON", start, end, score) for (start, end), score in sorted(found.items())
        ]

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
            word, flag = starts.get(start, ("", ""))
            if word == text[start:stop] and not flag.startswith("nr") and _word_frequency(word) >= 50:
                return None
            if len(word) > stop - start and not flag.startswith("nr"):
                return None
            return start, stop
        return None


def _word_frequency(word: str) -> int:
    import jieba

    return int(jieba.dt.FREQ.get(word) or 0)


_PLACE_SUFFIXES = frozenset("路街区县市省镇村道巷里乡州")


def _looks_like_place(text: str, start: int, end: int) -> bool:
    return text[end - 1] in _PLACE_SUFFIXES or (end < len(text) and text[end] in _PLACE_SUFFIXES)


_PROVINCES = (
    "北京|上海|天津|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|"
    "贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
# A place-name character: any CJK character except ones that end the preceding clause.
_STOP = "住在于是的到址为和与及从往去来向位家居寄送发了请把将我他她你患者客户现目前电话姓名号"
_P = r"(?:(?![" + _STOP + r"])[\u4e00-\u9fff])"
_ADDRESS_RE = re.compile(
    r"(?P<prov>(?:" + _PROVINCES + r")(?:省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区)?)?"
    r"(?P<city>" + _P + r"{1,6}?(?:市|自治州|州|盟|地区))?"
    r"(?P<district>" + _P + r"{1,6}?(?:区|县|旗|镇|乡|街道))?"
    r"(?P<road>" + _P + r"{1,10}?(?:大道|路|街|巷|胡同|里|村))?"
    r"(?P<number>\d+(?:[-—]\d+)?(?:号院|号|弄|栋|幢)(?:\d+(?:号楼|栋|幢|楼|单元|层|室|号|座)|[A-Z]座)*)?"
)


class ChineseAddressRecognizer(RuleRecognizer):
    """Chinese postal addresses: province / city / district / road / number components."""

    entity_type = "LOCATION"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "LOCATION" not in entities or not CJK_RE.search(text):
            return []
        results: list[RecognizerResult] = []
        position = 0
        while position < len(text):
            match = _ADDRESS_RE.search(text, position)
            if match is None:
                break
            if match.end() == match.start():
                position = match.start() + 1
                continue
            parts = {name for name, value in match.groupdict().items() if value}
            admin = parts & {"prov", "city", "district"}
            street = parts & {"road", "number"}
            if (admin and street) or {"road", "number"} <= parts or len(admin) >= 2:
                score = 0.85 if street else 0.6
                results.append(RecognizerResult("LOCATION", match.start(), match.end(), score))
                position = match.end()
            else:
                position = match.start() + 1
        return results
