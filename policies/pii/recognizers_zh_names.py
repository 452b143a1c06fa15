"""Chinese person names in Han characters: surnames, cue words around a name, jieba's
part-of-speech tags, spaced and dotted (transliterated) names."""

from __future__ import annotations

import functools
import itertools
import logging
import re
import threading
from collections.abc import Iterator
from importlib import resources
from typing import Any

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.recognizer_base import RuleRecognizer
from policies.pii.recognizers_zh_pinyin import LATIN_RE, NAME_PREFIXES, pinyin_lexicons, pinyin_names

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

SINGLE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑"
    "景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
    # Rarer ones from the Hundred Family Surnames (百家姓) and later lists.
    "阎萧濮蔺晁谌揭厉阚邰郦钮奚酆禹狄茅嵇荀芮邴糜宓郗钭戎韶郜蓟鄂胥莘逄雍璩扈冀郏茹宦庾暨弘匡殳蔚夔厍勾訾"
    "乜鞠蒯荆竺逯桓晋粟谯冼"
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
# Characters that (almost) never occur in a given name: clinical, banking and place words,
# particles. A candidate with one of them is a word that begins with a surname character
# (康复科, 麻醉, 顾客, 王府井, 查体), not a name.
_NEVER_GIVEN = frozenset(
    "病症炎癌瘤痛疼痒肿疸疹痰脓血压糖脂尿便酶肝肾肺胃肠脑骨髓膜腺颤醉痹栓梗塞衰竭药针剂片丸膏醇胺酮唑酸酯碱苷"
    "霉钾钠钙镁锌氯氧氮碳硫磷术科室院诊检复体客府井址局所站店厂费款税账额债贷券卡号码票据表性率度量值数次型类"
    "级期们么吗呢吧啊哦呀嘛了着过的地得之乎者也这那哪谁什怎个些每各某其此该您你我他她它咱街路区县市省镇村巷弄楼栋层"
    "乙丙"
)
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
    r'"[^"\n]{0,40}(?:name|姓名|名字|联系人|患者|客户|收件人|开户人|持卡人|户名)[^"\n]{0,20}"\s{0,3}:\s{0,3}"'
    r"(?P<name>(?:" + _SURNAME_ALT + r")[\u4e00-\u9fff]{1,2})\"",
    regex.IGNORECASE,
)
# A surname and a given name with a space between them: 张 伟, 欧阳 娜娜 (a full-width space is a
# space after normalization).
_SPACED_RE = regex.compile(r"(?P<surname>" + _SURNAME_ALT + r")[ \t]{1,2}(?P<given>[\u4e00-\u9fff]{1,2})")
# Transliterated names (Uyghur, Kazakh, Mongolian, Hui, foreign) are written with a middle dot
# between their parts: 买买提·吐尔逊, 迪丽热巴·迪力木拉提, 约翰·史密斯. The dot comes in many forms
# (NFKC has already made ． a full stop and ･ a katakana middle dot).
_NAME_DOTS = "·•・.‧∙⋅"
_DOTTED_RE = regex.compile(
    r"(?<![\u4e00-\u9fff])[\u4e00-\u9fff]++(?:[" + _NAME_DOTS + r"][\u4e00-\u9fff]++)+"  # one try per run
)
# Characters of such names, after Xinhua's transliteration tables for foreign names and the usual
# spellings of Uyghur, Kazakh and Mongolian names. A name part is the run of these characters next to
# the dot, so the words around it (患者, 的, 来院) stay outside.
_TRANSLIT = frozenset(
    "阿埃艾爱安昂奥巴拜班邦保鲍贝本比彼毕宾波伯博布采策查达代戴丹道德登邓迪蒂丁东杜顿多俄厄恩尔法凡范方菲费芬"
    "丰冯夫弗伏福富盖甘冈高戈格根贡古瓜圭哈海汉豪赫黑亨洪胡华怀惠霍基吉加贾杰金京居喀卡开凯坎康考柯科可克肯孔"
    "库夸奎昆拉莱赖兰朗劳勒雷蕾累里理丽利莉力连林琳临琉柳龙卢鲁路伦罗洛吕马玛迈麦曼芒毛梅美门蒙孟米密敏明缪摩"
    "莫默姆穆那纳娜乃奈南瑙内尼妮涅宁纽努诺欧帕潘庞佩彭皮珀普奇齐恰乔切钦琴琼丘屈让热日荣若瑞萨塞赛桑瑟森沙山"
    "尚绍舍申圣施什史舒斯松苏索塔泰坦汤唐陶特提廷汀通图土托瓦万旺威韦维温文翁沃乌伍武西希锡席夏谢辛欣休修许"
    "雅亚扬耶叶伊因英尤于约泽扎詹章朱兹佐翰卫大得列莎白"
    # Uyghur, Kazakh and Mongolian names.
    "买吐逊依木都不合江孜汗罕则吾素甫乎玉再姑娃排牙肉如卓别地来其仁朝呼坦宝音额道图嘎噶铁满库祖"
)
# Words that end in a transliteration character and come right before a name: 丈夫买买提·...
_TRANSLIT_CUES = ("丈夫", "姐夫", "妹夫", "大夫", "经理", "助理", "护理", "总经理", "收件人", "联系人")
# What follows a transliterated drug name, not a person's: 阿莫西林·克拉维酸钾.
_DRUG_TAIL = frozenset("酸钾钠钙镁片胶囊液剂素丸膏霜醇酮胺酯碱苷唑粉颗散注")
_MAX_TRANSLIT_PART = 10
# Characters that end a transliterated name part even when they are no transliteration characters:
# particles, cue and clinical words. Any other character may stand once inside a part (阿卜杜拉,
# 吾守尔) or next to the dot (麦尔旦·...), with a transliteration character beyond it.
_TRANSLIT_STOP = frozenset((_NOT_GIVEN - set("生")) | _NEVER_GIVEN | _DRUG_TAIL | set("者户属员家国省"))
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
            found.update(self._han_names(text))
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
            name = text[start:end]
            if (
                not _looks_like_place(text, start, end)
                and _given_is_plausible(name)
                and not _common_word(name)
                and not _not_a_name(text, start)
            ):
                found[(start, end)] = 0.85
        for pattern in (_PREFIX_RE, _SUFFIX_RE):
            for match in pattern.finditer(text):
                start = match.start("name")
                name = _trim_given(match.group("name"))
                cut = boundaries
                if (
                    pattern is _PREFIX_RE
                    and start not in boundaries
                    and token_start.get(start, -1) > match.start()
                ):
                    # jieba read the cue's last character and the surname as one word (联系|人马|雨):
                    # the cue ends where the name begins.
                    cut = boundaries | {start}
                span = self._plausible_name(text, start, start + len(name), cut, starts)
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
                and not _common_word(name)
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


# Particles and verbs that end a name that has a space inside it (张 伟说, 王 芳的).
_FUNCTION_CHARS = frozenset("的是在了和与及说来去到也都就被把给对向从自为已因")


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


def _dotted_names(text: str) -> Iterator[tuple[int, int]]:
    """Transliterated names: the transliteration characters on both sides of each middle dot."""
    spans: list[tuple[int, int]] = []
    for match in _DOTTED_RE.finditer(text):
        pieces = [(m.start(), m.end()) for m in _CJK_RUN_RE.finditer(text, match.start(), match.end())]
        for (left_start, left_end), (right_start, right_end) in itertools.pairwise(pieces):
            start = left_end - _translit_part(text[left_start:left_end][::-1])
            start = _after_translit_cue(text, start, left_end)
            end = right_start + _translit_part(text[right_start:right_end])
            while end > right_start and text[end - 1] == "来":
                end -= 1  # 吐尔逊来电: names do not end in 来
            left, right = left_end - start, end - right_start
            if left < 1 or right < 1 or left + right < 3:
                continue
            if end < len(text) and text[end] in _DRUG_TAIL:
                continue
            spans.append((start, end))
    for start, end in _merge(spans):
        yield start, end


def _translit_part(run: str) -> int:
    """How many characters at the start of ``run`` (read away from the dot) make a name part."""
    length, unknown = 0, False
    while length < min(len(run), _MAX_TRANSLIT_PART):
        ch = run[length]
        if ch not in _TRANSLIT:
            beyond = run[length + 1 : length + 2]
            if (
                unknown
                or ch in _TRANSLIT_STOP
                or (beyond and beyond not in _TRANSLIT and not _ends_part(beyond))
            ):
                break
            unknown = True
        length += 1
    return length


def _ends_part(ch: str) -> bool:
    """Whether a name may end right before ``ch``: punctuation, a space, a particle (牙生|于, 牙生|今天)."""
    return not CJK_RE.match(ch) or ch in _FUNCTION_CHARS or ch in "今昨明现曾"


def _after_translit_cue(text: str, start: int, limit: int) -> int:
    """Move ``start`` past a cue word that ends inside the name's first part (丈夫|买买提)."""
    for cue in _TRANSLIT_CUES:
        found = text.find(cue, max(0, start - len(cue) + 1), min(limit, start + len(cue)))
        if found != -1 and found <= start < found + len(cue) <= limit:
            start = found + len(cue)
    return start


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _word_frequency(word: str) -> int:
    import jieba

    return int(jieba.dt.FREQ.get(word) or 0)


_PLACE_SUFFIXES = frozenset("路街区县市省镇村道巷里乡州城庄")  # 石家庄, 金融城 (jieba: nr)


def _looks_like_place(text: str, start: int, end: int) -> bool:
    return text[end - 1] in _PLACE_SUFFIXES or (end < len(text) and text[end] in _PLACE_SUFFIXES)
