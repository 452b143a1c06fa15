"""An independent Chinese probe (issue 18, final round): sentences and values built from
vocabularies written for this module alone, not taken from the detector's tables nor from
``heldout_zh``: surnames and given-name characters, compound surnames, transliterated names with a
middle dot, area codes, region codes, bank prefixes, provinces, cities, districts, roads and
estates, e-mail hosts, and carrier sentences in a hospital's and a bank's words.

Classes: names (2 to 4 characters; compound surnames; dotted names; before 的 at the start of a
sentence; after 患者/客户 and before 先生/女士; inside tool-call JSON arguments), mobiles (spaces,
dashes, +86), landlines with area codes, ID numbers (18 digits, X check digit), bank cards (Luhn
valid, grouped or not), addresses (with and without a province, building, unit and room), e-mail
addresses glued to Chinese text.

Run ``.venv/bin/python -m tests.unit.pii.probe_zh`` for recall per class (request side, score
0.5, and answer side, 0.3).
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Sequence

from tests.unit.pii.heldout import Case, is_found, recall_table

__all__ = ["CLASSES", "generate", "is_found", "recall_table"]


def _case(cls: str, template: str, value: str, entity_type: str) -> Case:
    before, after = template.split("{v}")
    return Case(cls, "zh", before + value + after, len(before), len(before) + len(value), entity_type)


def _pick(rng: random.Random, items: Sequence[str]) -> str:
    return items[rng.randrange(len(items))]


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


# ---------------------------------------------------------------- names

_SURNAMES = list(
    "付卓蔺滕覃莫甘粟韦蓝佘冉寇牛房柴邬骆庞聂左鲍殷詹游晏尚车廉岳查盛单柯翟倪关凌巩芦易祁温裴阮戚窦"
    "连项苗童蒙闵伍常康麦梅樊华彭宁"
)
_COMPOUND = ["欧阳", "司马", "诸葛", "夏侯", "尉迟", "宇文", "长孙", "端木", "西门", "呼延", "南宫"]
_GIVEN = list(
    "德永振兴晖霖沛淼琦瀚峻铭钰锐煜琛翊祺妤彤绮芮霏璇溪岩松柏桐朗晗曦灏焱炜墨诺芊沁蔓"
    "嵘昕珂玥瑜璟琬芷苡莹蕙薰笙箫弈朔骁骐驰航远望启承安定瑶岑"
)
_DOTTED_FIRST = [
    *(
        "塔里甫",
        "阿布来提",
        "阿布都沙拉木",
        "依斯坎德尔",
        "艾沙",
        "阿尔斯兰",
        "祖丽菲亚",
        "哈里旦",
        "木合塔尔",
    ),
    *("赛力克", "别克波拉提", "娜扎尔", "叶尔兰", "巴特尔", "斯琴", "安德烈", "伊丽娜", "让"),
]
_DOTTED_LAST = [
    *("阿不都瓦依提", "艾买提江", "卡哈尔", "哈力克", "努尔别克", "吐鲁洪江", "巴拉提", "那孜尔"),
    *("沙比提", "杜邦", "彼得罗夫", "加西亚", "玉山江", "斯迪克"),
]


def _han_name(rng: random.Random, compound: bool = False) -> str:
    surname = _pick(rng, _COMPOUND) if compound else _pick(rng, _SURNAMES)
    given = rng.choice([1, 2, 2]) if not compound else rng.choice([1, 2])
    return surname + "".join(rng.choice(_GIVEN) for _ in range(given))


def _dotted_name(rng: random.Random) -> str:
    dot = rng.choice(["·", "·", "•", "・", "．"])
    return _pick(rng, _DOTTED_FIRST) + dot + _pick(rng, _DOTTED_LAST)


_NAME_SENTENCES = [
    "{v}先生的复诊时间改到周四上午。",
    "请通知{v}女士下午三点来取化验单",
    "患者{v}，男，56岁，主诉反复胸闷两周。",
    "客户{v}申请提高信用卡额度",
    "昨天{v}来门诊开了降压药",
    "家属{v}已签署手术知情同意书",
    "经办人：{v}",
    "开户名 {v}",
    "主治医生说{v}需要留院观察",
    "转账给{v}五千元，备注房租",
    "今天上午{v}和她母亲一起来的",
    "麻烦帮我查一下{v}的预约记录",
]
_NAME_DE = [
    "{v}的银行卡被冻结了，请帮忙查一下。",
    "{v}的出院小结还没打印",
    "{v}的血常规结果出来了吗？",
    "{v}的贷款申请需要补充材料",
]
_JSON_KEYS = ["name", "patient_name", "customer", "收款人", "holder", "contact"]


def name_cases(rng: random.Random, count: int) -> list[Case]:
    cases = [_case("zh_name", _pick(rng, _NAME_SENTENCES), _han_name(rng), "PERSON") for _ in range(count)]
    cases += [
        _case("zh_name_compound", _pick(rng, _NAME_SENTENCES), _han_name(rng, compound=True), "PERSON")
        for _ in range(count)
    ]
    cases += [
        _case("zh_name_dotted", _pick(rng, _NAME_SENTENCES), _dotted_name(rng), "PERSON")
        for _ in range(count)
    ]
    cases += [
        _case("zh_name_de", _pick(rng, _NAME_DE), _han_name(rng, compound=rng.random() < 0.2), "PERSON")
        for _ in range(count)
    ]
    for _ in range(count):
        name = _dotted_name(rng) if rng.random() < 0.2 else _han_name(rng, compound=rng.random() < 0.2)
        key = _pick(rng, _JSON_KEYS)
        arguments = json.dumps({key: "@@", "reason": "复诊提醒"}, ensure_ascii=False)
        before, after = arguments.split("@@")
        cases.append(_case("zh_name_json", before + "{v}" + after, name, "PERSON"))
    return cases


# ---------------------------------------------------------------- phones

_MOBILE_PREFIXES = [
    "133",
    "135",
    "136",
    "139",
    "147",
    "150",
    "152",
    "158",
    "166",
    "173",
    "177",
    "181",
    "186",
    "189",
    "199",
]
_AREA_CODES = [
    "010",
    "021",
    "020",
    "022",
    "023",
    "0755",
    "0571",
    "028",
    "027",
    "025",
    "029",
    "0512",
    "0731",
    "0898",
]
_MOBILE_SENTENCES = [
    "联系电话{v}",
    "手机：{v}，请尽快回电",
    "他的号码是{v}",
    "紧急联系人手机 {v}",
    "请拨打{v}确认预约",
    "短信验证码已发送到{v}",
]
_LANDLINE_SENTENCES = ["科室电话{v}", "办公室座机：{v}", "请打{v}找值班护士", "营业部电话 {v}，工作日可接通"]


def _mobile(rng: random.Random) -> str:
    number = _pick(rng, _MOBILE_PREFIXES) + _digits(rng, 8)
    form = rng.randrange(6)
    if form == 0:
        return number
    if form == 1:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if form == 2:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if form == 3:
        return f"+86 {number[:3]} {number[3:7]} {number[7:]}"
    if form == 4:
        return f"+86-{number}"
    return f"(+86){number}"


def _landline(rng: random.Random) -> str:
    code = _pick(rng, _AREA_CODES)
    local = str(rng.randint(2, 8)) + _digits(rng, 7 if len(code) == 3 else rng.choice([6, 7]))
    form = rng.randrange(4)
    if form == 0:
        return f"{code}-{local}"
    if form == 1:
        return f"({code}){local[:4]} {local[4:]}"
    if form == 2:
        return f"{code} {local[:4]} {local[4:]}"
    return f"{code}-{local[:4]}-{local[4:]}"


def phone_cases(rng: random.Random, count: int) -> list[Case]:
    cases = [
        _case("zh_mobile", _pick(rng, _MOBILE_SENTENCES), _mobile(rng), "PHONE_NUMBER") for _ in range(count)
    ]
    cases += [
        _case("zh_landline", _pick(rng, _LANDLINE_SENTENCES), _landline(rng), "PHONE_NUMBER")
        for _ in range(count)
    ]
    return cases


# ---------------------------------------------------------------- ID numbers and bank cards

_REGIONS = [
    "110105",
    "310115",
    "440304",
    "330102",
    "510104",
    "420106",
    "320106",
    "610112",
    "650104",
    "540102",
]
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_SENTENCES = [
    "身份证号{v}",
    "证件号码：{v}",
    "患者身份证 {v} 已核验",
    "请核对{v}是否本人",
    "开户证件{v}，有效期长期",
]


def _id_number(rng: random.Random, want_x: bool) -> str:
    while True:
        body = (
            _pick(rng, _REGIONS)
            + f"{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            + _digits(rng, 3)
        )
        check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
        if (check == "X") == want_x:
            return body + check


_BANK_PREFIXES = ["622202", "621700", "622848", "621483", "622588", "620200", "625807", "621661", "623668"]
_CARD_SENTENCES = [
    "卡号{v}",
    "请把钱打到这张卡：{v}",
    "工资卡 {v} 需要挂失",
    "银行卡号是{v}吗？",
    "完整卡号{v}，开户行招商银行",
]


def _luhn_complete(digits: str) -> str:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return digits + str((10 - total % 10) % 10)


def _bank_card(rng: random.Random) -> str:
    length = rng.choice([16, 19])
    number = _luhn_complete(_pick(rng, _BANK_PREFIXES) + _digits(rng, length - 7))
    if rng.random() < 0.5:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


def identifier_cases(rng: random.Random, count: int) -> list[Case]:
    cases = [
        _case("zh_id", _pick(rng, _ID_SENTENCES), _id_number(rng, want_x=index % 4 == 0), "CN_ID_CARD")
        for index in range(count)
    ]
    cases += [
        _case("zh_bank_card", _pick(rng, _CARD_SENTENCES), _bank_card(rng), "CREDIT_CARD")
        for _ in range(count)
    ]
    return cases


# ---------------------------------------------------------------- addresses

_PROVINCES = [
    "江苏省",
    "湖南省",
    "四川省",
    "福建省",
    "山东省",
    "河南省",
    "辽宁省",
    "云南省",
    "广西壮族自治区",
    "内蒙古自治区",
]
_CITIES = [
    "株洲",
    "岳阳",
    "常德",
    "泸州",
    "宜宾",
    "漳州",
    "莆田",
    "潍坊",
    "淄博",
    "开封",
    "鞍山",
    "曲靖",
    "桂林",
    "包头",
    "镇江",
    "台州",
]
_DISTRICTS = [
    "芦淞",
    "岳阳楼",
    "武陵",
    "江阳",
    "翠屏",
    "芗城",
    "城厢",
    "奎文",
    "张店",
    "龙亭",
    "铁东",
    "麒麟",
    "秀峰",
    "京口",
    "椒江",
]
_STREETS = [
    "建设路",
    "红旗路",
    "光明街",
    "团结路",
    "青年路",
    "胜利街",
    "育才路",
    "振兴大道",
    "友谊路",
    "环城东路",
    "滨江西路",
]
_ESTATES = ["翠湖苑", "锦绣花城", "金色家园", "恒大名都", "凤凰城", "怡景湾", "书香门第", "东湖小区"]
_ADDRESS_SENTENCES = [
    "收货地址：{v}",
    "家住{v}",
    "请把病历复印件寄到{v}",
    "现住址 {v}，联系人本人",
    "他上个月搬到了{v}",
]


def _n(rng: random.Random, low: int, high: int, unit: str) -> str:
    space = " " if rng.random() < 0.3 else ""
    return f"{space}{rng.randint(low, high)}{space}{unit}"


def _address(rng: random.Random, province: bool) -> str:
    city = _pick(rng, _CITIES) + "市"
    district = _pick(rng, _DISTRICTS) + "区"
    head = (_pick(rng, _PROVINCES) if province else "") + city + district
    form = rng.randrange(3)
    if form == 0:
        return head + _pick(rng, _STREETS) + _n(rng, 1, 399, "号")
    if form == 1:
        return (
            head
            + _pick(rng, _STREETS)
            + _n(rng, 1, 399, "号")
            + _pick(rng, _ESTATES)
            + _n(rng, 1, 30, "栋")
            + _n(rng, 1, 6, "单元")
            + _n(rng, 101, 2806, "室")
        )
    # No city either: a district, an estate, building and room ("芗城区怡景湾3号楼2单元502").
    tail = _pick(rng, _ESTATES) + _n(rng, 1, 30, "号楼") + _n(rng, 1, 6, "单元") + str(rng.randint(101, 2806))
    return (head if province else district) + tail


def address_cases(rng: random.Random, count: int) -> list[Case]:
    cases = [
        _case("zh_address_province", _pick(rng, _ADDRESS_SENTENCES), _address(rng, True), "LOCATION")
        for _ in range(count)
    ]
    cases += [
        _case("zh_address_no_province", _pick(rng, _ADDRESS_SENTENCES), _address(rng, False), "LOCATION")
        for _ in range(count)
    ]
    return cases


# ---------------------------------------------------------------- e-mail glued to Chinese text

_LOCALS = ["zhangsan", "li.wei88", "hr_dept", "chen-jie", "kefu2024", "x.y.z", "doctor.he", "fin.ops"]
_HOSTS = [
    "163.com",
    "qq.com",
    "hospital.local",
    "bank.internal",
    "corp.cn",
    "mail.gov.cn",
    "126.com",
    "sina.cn",
]
_EMAIL_SENTENCES = [
    "邮箱{v}请查收",
    "发到{v}就行",
    "联系邮件：{v}。",
    "请用{v}登录系统",
    "报告已发送至{v}，请注意查收",
]


def email_cases(rng: random.Random, count: int) -> list[Case]:
    return [
        _case(
            "zh_email_glued",
            _pick(rng, _EMAIL_SENTENCES),
            f"{_pick(rng, _LOCALS)}@{_pick(rng, _HOSTS)}",
            "EMAIL_ADDRESS",
        )
        for _ in range(count)
    ]


_GENERATORS: tuple[Callable[[random.Random, int], list[Case]], ...] = (
    name_cases,
    phone_cases,
    identifier_cases,
    address_cases,
    email_cases,
)
CLASSES = (
    "zh_name",
    "zh_name_compound",
    "zh_name_dotted",
    "zh_name_de",
    "zh_name_json",
    "zh_mobile",
    "zh_landline",
    "zh_id",
    "zh_bank_card",
    "zh_address_province",
    "zh_address_no_province",
    "zh_email_glued",
)


def generate(per_class: int = 40, seed: int = 2018) -> list[Case]:
    """``per_class`` cases of every class, the same for the same seed."""
    rng = random.Random(seed)
    return [case for make in _GENERATORS for case in make(rng, per_class)]


def main() -> None:
    import os
    import sys

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy

    detector = PIIDetector(load_default_pii_policy(), cache_key=os.urandom(32))
    cases = generate(per_class=int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    findings = [detector.detect(case.text) for case in cases]
    request, answer = recall_table(cases, findings, 0.5), recall_table(cases, findings, 0.3)
    print(f"{'class':<26}{'request (>=0.5)':>17}{'answer (>=0.3)':>16}")
    for key in sorted(request):
        (hit, total), (ahit, _) = request[key], answer[key]
        print(f"{key[0]:<26}{hit:>6}/{total:<4}{hit / total:>6.3f}{ahit / total:>15.3f}")
    if os.environ.get("SHOW_MISSES"):
        for case, found in zip(cases, findings, strict=True):
            if not is_found(case, found, 0.5):
                print(
                    case.cls, case.text, [(f.entity_type, case.text[f.start : f.end], f.score) for f in found]
                )


if __name__ == "__main__":
    main()
