"""Chinese names (issue 18, item 5): transliterated names with a middle dot, a name opening a
sentence, spaced names, pinyin names in English or Chinese text; words that look like a surname and
a given name (高血压, 王府井, 马上) and English words that are also pinyin left alone."""

from __future__ import annotations

import random

import jieba
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.recognizers_zh import (
    COMPOUND_SURNAMES,
    SINGLE_SURNAMES,
    ChineseNameRecognizer,
    pinyin_lexicons,
    pinyin_names,
)
from policies.pii.redact_body import redact_chat_body
from tests.unit.pii.heldout_zh import (
    GIVEN_CHARS,
    NAME_DOTS,
    SURNAMES,
    TRANSLIT_FIRST,
    TRANSLIT_LAST,
    generate,
    is_found,
    negatives,
    recall_table,
)

_RECOGNIZER = ChineseNameRecognizer()
_RECOGNIZER.load()


def _names(detector: PIIDetector, text: str) -> list[str]:
    return [
        text[f.start : f.end] for f in detector.detect(text) if f.entity_type == "PERSON" and f.score >= 0.5
    ]


def _recognized(text: str) -> list[str]:
    return [text[r.start : r.end] for r in _RECOGNIZER.analyze(text, ["PERSON"]) if r.score >= 0.5]


# ---------------------------------------------------------------- the values that leaked


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("患者阿不都热依木·艾力，男，45岁", "阿不都热依木·艾力"),
        ("买买提·吐尔逊的病历在哪", "买买提·吐尔逊"),
        ("迪丽热巴·迪力木拉提来院复诊", "迪丽热巴·迪力木拉提"),
        ("联系人：迪丽热巴•迪力木拉提", "迪丽热巴•迪力木拉提"),
        ("客户买买提・吐尔逊来电", "买买提・吐尔逊"),
        ("开户人阿不都热依木．艾力", "阿不都热依木．艾力"),
        ("丈夫买买提·吐尔逊签字", "买买提·吐尔逊"),
        ("病人热娜古丽·牙生今天复查", "热娜古丽·牙生"),  # 生 ends a name, not only 先生
        ("收款方 乔治•牙生", "乔治•牙生"),
    ],
)
def test_transliterated_names_with_a_middle_dot_are_found(
    detector: PIIDetector, text: str, name: str
) -> None:
    assert name in _names(detector, text), _names(detector, text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("李娜的银行卡被冻结了", "李娜"),
        ("王芳的病历请调出来。", "王芳"),
        ("已核实。晁彬的账户余额不足。", "晁彬"),
        ("诸葛玉的贷款申请被退回。", "诸葛玉"),
        ("公孙敏欣，女，32岁，孕2产1。", "公孙敏欣"),
    ],
)
def test_a_name_opening_a_sentence_is_found(detector: PIIDetector, text: str, name: str) -> None:
    assert name in _names(detector, text), _names(detector, text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("患者张 伟今日出院", "张 伟"),
        ("客户欧阳 娜娜来电", "欧阳 娜娜"),
        ("签名：王\u3000小明", "王\u3000小明"),
        ("主治医生：苏 然志", "苏 然志"),
        ("张 伟 先生的预约已确认", "张 伟"),
    ],
)
def test_spaced_names_are_found(detector: PIIDetector, text: str, name: str) -> None:
    assert name in _names(detector, text), _names(detector, text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient zhang wei was admitted on Monday.", "zhang wei"),
        ("Please transfer the funds to Zhang Wei.", "Zhang Wei"),
        ("Account holder: ZHANG Wei", "ZHANG Wei"),
        ("Wang Xiaoming called about his statement.", "Wang Xiaoming"),
        ("客户ouyang nana要求退款", "ouyang nana"),
        ("Signed: Wang Xiao-Ming", "Wang Xiao-Ming"),
        ("Dear Xiaoming Wang, your appointment is confirmed.", "Xiaoming Wang"),
        ("WANG XIAOMING, DOB 03/04/1975", "WANG XIAOMING"),
        ("cc: long xiaoyu", "long xiaoyu"),  # long is English, xiaoyu is not
        ("Patient he long was admitted.", "he long"),  # both English: a cue word before it
        ("Mr. Wang will call back.", "Wang"),
    ],
)
def test_pinyin_names_are_found_in_any_casing(text: str, name: str) -> None:
    assert name in _recognized(text), _recognized(text)


# ---------------------------------------------------------------- what is not a name


@pytest.mark.parametrize(
    "text",
    [
        "患者高血压三年，规律服药。",
        "明天去王府井买药。",
        "家属马上到，请稍等。",
        "白天的血压比夜间高。",
        "黄疸的原因待查。",
        "治疗方案已确认。",
        "心内科的床位已满。",
        "康复科的医生下午会诊。",
        "患者华法林抗凝，INR 2.5。",
        "顾客的反馈很重要。",
        "麻醉的风险已告知家属。",
        "谷丙转氨酶升高，复查肝功能。",
        "阿莫西林·克拉维酸钾每日两次。",
        "中国·北京的会议延期。",
        "高血压·糖尿病·冠心病的随访表已更新。",
        "检查结果 高 风险",
    ],
)
def test_words_that_begin_with_a_surname_are_not_names(text: str) -> None:
    assert _recognized(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "He can walk to the ward without help.",
        "The fan was on and the man was asleep.",
        "Hang the IV bag and bin the old forms.",
        "He is an in-patient; an MRI is booked.",
        "Long term care plan reviewed.",
        "he can hang on until the pan is clean",
        "Transfer to the Hong Kong branch.",
        "Tai chi class on Monday; feng shui talk on Friday.",
        "She sang in the choir; he ran home.",
        "A human bite wound was cleaned.",
        "He Can Help You Today",
        "ping the on-call team, then bin the forms",
        "an AI model summarised the chart",
    ],
)
def test_english_words_that_are_also_pinyin_are_not_names(text: str) -> None:
    assert pinyin_names(text) == [], [text[s:e] for s, e, _ in pinyin_names(text)]


def test_english_prose_yields_almost_no_pinyin_names() -> None:
    # The standard library's docstrings: 90,000 English words, as written, lower-cased and in
    # capitals, none of them a Chinese name ("an api" is the one pair found in lower case).
    prose = " ".join(_docstrings())
    assert len(prose.split()) > 80_000
    for text in (prose, prose.lower(), prose.upper()):
        found = [text[s:e] for s, e, _ in pinyin_names(text)]
        assert len(found) <= 3, found


def _docstrings() -> list[str]:
    import importlib
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)  # typing.io and typing.re, read here
    parts = []
    for name in (
        "collections email json logging typing re random argparse asyncio subprocess threading unittest "
        "pathlib datetime decimal statistics textwrap string inspect ast pickle functools itertools enum"
    ).split():
        module = importlib.import_module(name)
        for attr in ["__doc__", *dir(module)]:
            try:
                doc = (
                    getattr(module, attr)
                    if attr == "__doc__"
                    else getattr(getattr(module, attr), "__doc__", None)
                )
            except Exception:  # some attributes raise on access
                continue
            if isinstance(doc, str):
                parts.append(doc)
    return parts


def test_pinyin_surname_list_covers_the_surname_table() -> None:
    lexicons = pinyin_lexicons()
    assert len(lexicons.surnames) > 200 and {"zhang", "wang", "ouyang", "zhuge", "lv"} <= lexicons.surnames
    assert {"long", "fan", "bin", "ping", "hang", "man", "he", "an"} <= lexicons.english
    assert len(SINGLE_SURNAMES) > 300 and len(COMPOUND_SURNAMES) > 20


def test_pinyin_surname_list_is_what_pypinyin_gives_for_the_table() -> None:
    pypinyin = pytest.importorskip("pypinyin")  # a build-time tool, not a dependency
    lexicons = pinyin_lexicons()
    for surname in (*sorted(SINGLE_SURNAMES), *COMPOUND_SURNAMES):
        readings = {
            "".join(r)
            for r in _product(pypinyin.pinyin(surname, style=pypinyin.Style.NORMAL, heteronym=True))
        }
        assert readings & lexicons.surnames, surname


def _product(options: list[list[str]]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for choices in options:
        out = [[*prefix, c.replace("ü", "v")] for prefix in out for c in choices]
    return out


# ---------------------------------------------------------------- held-out recall and precision

CASES = [c for c in generate(per_class=60, seed=1818) if c.cls.startswith("zh_name")]
FLOORS = {
    "zh_name_dotted": 0.95,
    "zh_name_clause_start": 0.95,
    "zh_name_spaced": 0.93,
    "zh_name_pinyin": 0.95,
    "zh_name": 0.93,
}


@pytest.fixture(scope="module")
def findings(detector: PIIDetector) -> list[list[object]]:
    return detector.detect_many([case.text for case in CASES])  # type: ignore[return-value]


@pytest.mark.parametrize("cls", sorted(FLOORS))
def test_recall_of_chinese_names_per_class(findings, pii_policy: PIIPolicy, cls: str) -> None:
    threshold = pii_policy.profile("default").min_score
    for (name, lang), (hit, total) in recall_table(CASES, findings, threshold).items():
        if name == cls:
            misses = [
                c.text
                for c, f in zip(CASES, findings, strict=True)
                if c.cls == cls and not is_found(c, f, 0.5)
            ]
            assert total >= 10 and hit / total >= FLOORS[cls], (cls, lang, hit, total, misses[:5])


def test_sentences_with_lookalike_words_keep_them(detector: PIIDetector, pii_policy: PIIPolicy) -> None:
    sentences = [n for n in negatives(random.Random(1819), 200) if n.lang == "zh"]
    body = {"messages": [{"role": "user", "content": n.text} for n in sentences]}
    out, _, _ = redact_chat_body(body, detector, pii_policy.profile("clinical"))
    lost = [
        (n.text, m["content"])
        for n, m in zip(sentences, out["messages"], strict=True)
        if not all(word in m["content"] for word in n.keep)
    ]
    assert lost == [], lost[:5]


# ---------------------------------------------------------------- any name, any dot


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.sampled_from(TRANSLIT_FIRST),
    last=st.sampled_from(TRANSLIT_LAST),
    dot=st.sampled_from(NAME_DOTS),
    template=st.sampled_from(
        ["患者{v}，男，45岁", "{v}的病历", "开户人：{v}", "请通知{v}明天来", "转账给{v}。"]
    ),
)
def test_any_transliterated_name_with_any_middle_dot_is_found(
    first: str, last: str, dot: str, template: str
) -> None:
    text = template.replace("{v}", first + dot + last)
    spans = [(r.start, r.end) for r in _RECOGNIZER.analyze(_normalized(text), ["PERSON"])]
    start = text.index(first)
    assert any(s <= start and start + len(first) + 1 + len(last) <= e for s, e in spans), (text, spans)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    surname=st.sampled_from([*SURNAMES, *COMPOUND_SURNAMES[:6]]),
    given_name=st.text(st.sampled_from(GIVEN_CHARS), min_size=1, max_size=2),
    space=st.sampled_from([" ", "\u3000", "  "]),
    template=st.sampled_from(["患者{v}今日出院", "客户{v}来电", "签名：{v}", "联系人 {v}，电话见附件"]),
)
def test_any_surname_and_given_name_with_a_space_inside_is_found(
    detector: PIIDetector, surname: str, given_name: str, space: str, template: str
) -> None:
    # Unless surname and given name make a word (许 可 is 许可, a permit): jieba's dictionary says.
    assume(int(jieba.dt.FREQ.get(surname + given_name) or 0) < 50)
    name = surname + space + given_name
    text = template.replace("{v}", name)
    start = text.index(name)
    found = [f for f in detector.detect(text) if f.entity_type == "PERSON" and f.score >= 0.5]
    # The surname and the given name's first character are covered (a second character that
    # begins a word with what follows may stay outside: 张 伟今日).
    covered = {i for f in found for i in range(f.start, f.end)}
    assert start in covered and start + len(surname) + len(space) in covered, (text, found)


def _normalized(text: str) -> str:
    from policies.pii.normalize import normalize

    return normalize(text).text
