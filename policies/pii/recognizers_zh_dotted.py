"""Transliterated Chinese names written with a middle dot (Uyghur, Kazakh, Mongolian, Hui and
foreign names: 买买提·吐尔逊, 约翰·史密斯)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import regex

from policies.pii.names_zh_chars import CJK_RE, CJK_RUN_RE, FUNCTION_CHARS, NEVER_GIVEN, NOT_GIVEN

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
_TRANSLIT_STOP = frozenset((NOT_GIVEN - set("生")) | NEVER_GIVEN | _DRUG_TAIL | set("者户属员家国省"))


def dotted_names(text: str) -> Iterator[tuple[int, int]]:
    """Transliterated names: the transliteration characters on both sides of each middle dot."""
    spans: list[tuple[int, int]] = []
    for match in _DOTTED_RE.finditer(text):
        pieces = [(m.start(), m.end()) for m in CJK_RUN_RE.finditer(text, match.start(), match.end())]
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
    return not CJK_RE.match(ch) or ch in FUNCTION_CHARS or ch in "今昨明现曾"


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
