"""Chinese names with no cue word, found by their place in the sentence (issue 18): after a verb,
opening a clause, in a list, before 的, in quotes, after a preposition, before a title; and the
clinical and banking words in the same places that are no names."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.recognizers_zh import ChineseNameRecognizer
from tests.unit.pii.heldout import is_found
from tests.unit.pii.heldout_zh_names import generate, negatives

_RECOGNIZER = ChineseNameRecognizer()
_RECOGNIZER.load()


def _recognized(text: str) -> list[str]:
    return [text[r.start : r.end] for r in _RECOGNIZER.analyze(text, ["PERSON"]) if r.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # the object of a verb that takes a person
        ("请联系芮清源确认明天的时间。", "芮清源"),
        ("麻烦转告蔺若彤，复诊改到周四。", "蔺若彤"),
        ("已经冻结了邰文博的银行卡。", "邰文博"),
        ("系统里找不到阚雨桐的预约记录。", "阚雨桐"),
        ("转账给晁鹏五千元，备注房租。", "晁鹏"),
        # a subject opening a clause, before its predicate
        ("郦浩然目前在重症监护室观察。", "郦浩然"),
        ("谌思远希望把定期存款转成活期。", "谌思远"),
        # a list with 、
        ("今天值班的是厉文轩、揭梓萱和邰一鸣。", "揭梓萱"),
        # before 的, in quotes
        ("主任要求今天完成阚梓涵的术前评估。", "阚梓涵"),
        ("签名栏只写了“濮雨辰”两个字。", "濮雨辰"),
        ("来电的人自称「郦晓峰」，要求查询余额。", "郦晓峰"),
        # after a preposition or a causative verb
        ("这个病人由晁子墨负责。", "晁子墨"),
        ("你跟蔺嘉懿说一声，明天不用空腹。", "蔺嘉懿"),
        ("让揭雨萌先去一楼缴费。", "揭雨萌"),
        # before a title
        ("下午芮天佑大夫会来查房。", "芮天佑"),
        # surnames the table lacked before (赖, 卿, 鄢) and compound ones (宗政, 赫连, 淳于)
        ("今天上午已经电话提醒赖兰兰空腹抽血。", "赖兰兰"),
        ("请把卿晓的病历调出来。", "卿晓"),
        ("叫宗政瀚到护士站量血压。", "宗政瀚"),
        ("名单上还有赫连佳没有到。", "赫连佳"),
        ("这笔贷款由淳于松担保。", "淳于松"),
    ],
)
def test_a_name_with_no_cue_is_found_by_its_place(text: str, name: str) -> None:
    assert name in _recognized(text), _recognized(text)


@pytest.mark.parametrize(
    ("text", "surname"),
    [("请找郦医生签字。", "郦"), ("刚才晁主任来过电话。", "晁"), ("这件事要问欧阳经理。", "欧阳")],
)
def test_a_surname_alone_before_a_title_is_found(text: str, surname: str) -> None:
    assert surname in _recognized(text), _recognized(text)


def test_a_conjunction_is_no_part_of_the_name_after_it() -> None:
    assert "和赵敏" not in _recognized("今天值班的是张伟、李娜和赵敏。")


@pytest.mark.parametrize(
    "text",
    [
        # the same places, filled with words that begin with a surname character
        "请联系华夏银行确认放款时间。",
        "请联系平安银行确认明天的时间。",
        "通知管床医生来取报告。",
        "把报告发给康复科，抄送科室。",
        "把报告发给师傅，抄送科室。",
        "请联系应急办确认明天的时间。",
        "麻烦转告金融部，明天不用来。",
        "通知宁养院来取报告。",
        "方案已经确认，下周开始。",
        "周期今天开始。",
        "钟点已经确认，下周开始。",
        "席位需要复查，糖尿病控制尚可。",
        "江苏分行今天放款。",
        "既往有高血压、糖尿病和冠心病。",
        "中药处方：党参、柴胡、麻黄各十克。",
        "中药处方：白芍、桑叶、丁香各十克。",
        "白细胞的数值偏高，建议复查。",
        "王府井的门店周末照常营业。",
        "诊断写的是“黄疸”。",
        "备注栏写着“冷敷”，没有其他内容。",
        "这个病区由主管医生负责。",
        "下午和主管护士一起去药房领药。",
        "主任医生今天休息。",
        "向医生说明情况后再签字。",
        "应医生要求复查血常规。",
        "和护士沟通过了。",
        "转账给钟点工五千元，备注押金。",
    ],
)
def test_words_in_the_places_of_names_are_no_names(text: str) -> None:
    assert _recognized(text) == []


def test_generated_names_with_no_cue_are_found(detector: PIIDetector) -> None:
    # Seed 11, one of the two report seeds (7 is the tuning seed): 40 per class.
    cases = [c for c in generate(per_class=40, seed=11) if c.cls != "zh_nc_surname_title"]
    found = detector.detect_many([c.text for c in cases])
    missed = [c.text for c, f in zip(cases, found, strict=True) if not is_found(c, f, 0.5)]
    assert len(missed) <= len(cases) * 0.04, missed[:10]


def test_generated_negatives_keep_almost_every_word(detector: PIIDetector) -> None:
    # Place names jieba tags as names (秦皇岛, 唐山) and 张力 are still read as names: see the
    # report of issue 18's no-cue round.
    sentences = negatives(seed=13)
    found = detector.detect_many([n.text for n in sentences])
    flagged = [
        n.text
        for n, f in zip(sentences, found, strict=True)
        if any(x.entity_type == "PERSON" and x.score >= 0.5 for x in f)
    ]
    assert len(flagged) <= 10, flagged
