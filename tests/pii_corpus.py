"""Labelled synthetic PII corpus (deterministic): English, Chinese and mixed sentences.

Every value is generated with valid check digits (CN ID MOD 11-2, Luhn, IBAN mod-97) and
some are disguised the way users evade filters: full-width digits, zero-width characters
inside numbers, digit groups split by spaces, dashes or dots. Each sample lists the
exact spans of its personal data and the clinical facts that must survive redaction.
Used by tests/unit/pii and bench/pii_quality.py.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u200e")


@dataclass(frozen=True)
class Span:
    entity_type: str
    start: int
    end: int


@dataclass(frozen=True)
class Sample:
    text: str
    spans: tuple[Span, ...]
    keep: tuple[str, ...]
    kind: str  # en / zh / mixed


# ---------------------------------------------------------------- value generators

_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id(rng: random.Random) -> str:
    region = rng.choice(["110101", "310104", "440305", "510107", "330106", "420102", "210202", "500101"])
    birth = f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = region + birth + f"{rng.randint(0, 999):03d}"
    total = sum(int(d) * w for d, w in zip(first17, _CN_ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for position, ch in enumerate(reversed(body)):
        value = int(ch)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return body + str((10 - total % 10) % 10)


def unionpay_card(rng: random.Random) -> str:
    return luhn_complete(
        rng.choice(["622202", "621700", "622848", "621226", "623668"]), rng.choice([16, 19]), rng
    )


def visa_card(rng: random.Random) -> str:
    return luhn_complete(rng.choice(["4", "51", "55"]), 16, rng)


def iban(rng: random.Random) -> str:
    country, bban = rng.choice(
        [
            ("DE", lambda: "".join(rng.choice(string.digits) for _ in range(18))),
            (
                "NL",
                lambda: (
                    rng.choice(["ABNA", "INGB", "RABO"])
                    + "".join(rng.choice(string.digits) for _ in range(10))
                ),
            ),
            ("FR", lambda: "".join(rng.choice(string.digits) for _ in range(23))),
        ]
    )
    basic = bban()
    numeric = "".join(str(int(ch, 36)) for ch in basic + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{basic}"


def group_iban(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if (n != 666 and n < 740) or 750 < n < 772][:700])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def cn_mobile(rng: random.Random) -> str:
    return rng.choice(
        ["138", "139", "135", "136", "150", "151", "158", "186", "187", "188", "177", "199"]
    ) + "".join(rng.choice(string.digits) for _ in range(8))


def us_phone(rng: random.Random) -> tuple[str, str]:
    area = rng.choice(["212", "415", "617", "312", "206", "303", "404", "713"])
    exchange = str(rng.randint(201, 989))
    line = f"{rng.randint(0, 9999):04d}"
    form = rng.choice(["({a}) {e}-{l}", "{a}-{e}-{l}", "+1 {a} {e} {l}", "{a}.{e}.{l}"])
    return form.format(a=area, e=exchange, l=line), area + exchange + line


EN_FIRST = [
    "John",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "James",
    "Susan",
    "William",
    "Jessica",
    "Richard",
    "Sarah",
    "Thomas",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Emily",
]
EN_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Thompson",
    "White",
    "Harris",
    "Clark",
]
ZH_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁沈任"
)
ZH_SURNAMES = [s for s in ZH_SURNAMES if s != "萧"] + ["欧阳", "司马", "诸葛"]
ZH_GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
    "秀英",
    "建华",
    "志强",
    "秀兰",
    "海燕",
    "晓东",
    "丽娟",
    "国庆",
    "春梅",
    "子轩",
    "雨涵",
    "浩然",
    "文博",
    "佳怡",
]
ZH_PLACES = [
    ("广东省", "深圳市", "南山区", "科技园路"),
    ("浙江省", "杭州市", "西湖区", "文三路"),
    ("北京市", "", "朝阳区", "建国路"),
    ("上海市", "", "浦东新区", "张杨路"),
    ("四川省", "成都市", "武侯区", "人民南路"),
    ("湖北省", "武汉市", "洪山区", "珞喻路"),
    ("江苏省", "南京市", "鼓楼区", "中山北路"),
]
EMAIL_DOMAINS = ["example.com", "hospital.org", "bank.cn", "163.com", "qq.com", "mail.example.co.uk"]

CLINICAL_FACTS_EN = [
    "Metformin 500 mg",
    "HbA1c 7.2%",
    "Lisinopril 10 mg daily",
    "eGFR 85 mL/min",
    "WBC 6.8 x10^9/L",
    "BP 130/85 mmHg",
    "visit on 2024-03-05",
    "Atorvastatin 20 mg at night",
    "LDL 3.1 mmol/L",
    "follow-up on 12/05/2024",
    "temperature 37.8 C",
    "insulin glargine 12 units",
]
CLINICAL_FACTS_ZH = [
    "血压 130/85 mmHg",
    "空腹血糖 6.1 mmol/L",
    "二甲双胍 500mg 每日两次",
    "体温 37.5℃",
    "复诊日期 2024年5月6日",
    "糖化血红蛋白 7.2%",
    "心率 78次/分",
    "阿司匹林 100mg",
]
BANKING_FACTS = ["balance 12,450.00 USD", "transfer of 3,000 EUR", "余额 8,562.30 元", "利率 3.45%"]


# ---------------------------------------------------------------- evasion forms


def fullwidth(value: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in value)


def zero_width(value: str, rng: random.Random) -> str:
    out = []
    for index, ch in enumerate(value):
        out.append(ch)
        if ch.isdigit() and index < len(value) - 1 and rng.random() < 0.35:
            out.append(rng.choice(ZERO_WIDTH))
    return "".join(out)


def split_groups(value: str, rng: random.Random) -> str:
    sep = rng.choice([" ", "-", ".", " - "])
    size = rng.choice([3, 4])
    return sep.join(value[i : i + size] for i in range(0, len(value), size))


def evade(value: str, rng: random.Random) -> str:
    """Apply zero or more evasion forms to a digit-bearing value."""
    roll = rng.random()
    if roll < 0.45:
        return value
    if roll < 0.6:
        return fullwidth(value)
    if roll < 0.75:
        return zero_width(value, rng)
    if roll < 0.9:
        return split_groups(value, rng)
    return zero_width(fullwidth(split_groups(value, rng)), rng)


# ---------------------------------------------------------------- sample builder


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[Span] = []
        self.length = 0

    def text(self, value: str) -> _Builder:
        self.parts.append(value)
        self.length += len(value)
        return self

    def pii(self, entity_type: str, value: str) -> _Builder:
        self.spans.append(Span(entity_type, self.length, self.length + len(value)))
        return self.text(value)

    def build(self, keep: tuple[str, ...], kind: str) -> Sample:
        return Sample("".join(self.parts), tuple(self.spans), keep, kind)


def _en_name(rng: random.Random) -> str:
    return f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"


def _zh_name(rng: random.Random) -> str:
    return rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)


def _zh_address(rng: random.Random) -> str:
    province, city, district, road = rng.choice(ZH_PLACES)
    tail = f"{rng.randint(1, 300)}号"
    if rng.random() < 0.5:
        tail += f"{rng.randint(1, 30)}栋{rng.randint(1, 30)}{rng.randint(1, 9):02d}室"
    return province + city + district + road + tail


def _dob(rng: random.Random, chinese: bool) -> str:
    year, month, day = rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)
    if chinese:
        return f"{year}年{month}月{day}日"
    months = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    return rng.choice(
        [
            f"{year}-{month:02d}-{day:02d}",
            f"{month:02d}/{day:02d}/{year}",
            f"{months[month - 1]} {day}, {year}",
            f"{day} {months[month - 1]} {year}",
        ]
    )


def _email(name: str, rng: random.Random) -> str:
    first, last = name.lower().split()
    return f"{first}{rng.choice(['.', '_', ''])}{last}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"


def _en_clinical(rng: random.Random) -> Sample:
    b = _Builder()
    name = _en_name(rng)
    fact1, fact2 = rng.sample(CLINICAL_FACTS_EN, 2)
    b.text(rng.choice(["Patient ", "Pt. ", "Seen today: ", "Referral for "])).pii("PERSON", name)
    b.text(", " + rng.choice(["born ", "DOB: ", "date of birth "])).pii("DATE_TIME", _dob(rng, False))
    b.text(f", on {fact1}. ")
    if rng.random() < 0.5:
        phone, digits = us_phone(rng)
        b.text("Call back at ").pii("PHONE_NUMBER", evade(digits, rng) if rng.random() < 0.3 else phone).text(
            ". "
        )
    else:
        b.text("Email ").pii("EMAIL_ADDRESS", _email(name, rng)).text(" with results. ")
    b.text(f"Plan: {fact2}. ")
    if rng.random() < 0.4:
        b.text("SSN ").pii("US_SSN", ssn(rng)).text(" on file. ")
    if rng.random() < 0.3:
        b.text("Chart ").pii("MEDICAL_RECORD_NUMBER", f"MRN-{rng.randint(0, 9999999):07d}").text(". ")
    if rng.random() < 0.3:
        b.text("Discussed with Dr. ").pii("PERSON", _en_name(rng)).text(".")
    return b.build((fact1, fact2), "en")


def _en_banking(rng: random.Random) -> Sample:
    b = _Builder()
    name = _en_name(rng)
    fact = rng.choice(BANKING_FACTS[:2])
    b.text(rng.choice(["Customer ", "Account holder ", "Client: "])).pii("PERSON", name).text(" reported a ")
    b.text(rng.choice(["lost card ", "disputed charge on card ", "card "]))
    card = rng.choice([visa_card, unionpay_card])(rng)
    b.pii("CREDIT_CARD", evade(card, rng)).text(f"; {fact}. ")
    value = iban(rng)
    b.text("Refund to IBAN ").pii("IBAN_CODE", group_iban(value) if rng.random() < 0.5 else value).text(". ")
    if rng.random() < 0.5:
        b.text("Login from ").pii(
            "IP_ADDRESS",
            f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        )
        b.text(". ")
    b.text("Contact ").pii("EMAIL_ADDRESS", _email(name, rng)).text(".")
    return b.build((fact,), "en")


def _zh_clinical(rng: random.Random) -> Sample:
    b = _Builder()
    fact1, fact2 = rng.sample(CLINICAL_FACTS_ZH, 2)
    b.text(rng.choice(["患者", "病人", "姓名：", "就诊人"])).pii("PERSON", _zh_name(rng))
    b.text(rng.choice(["，男，", "，女，"]) + f"{rng.randint(18, 90)}岁，")
    b.text(rng.choice(["身份证号", "身份证号码：", "证件号 "])).pii("CN_ID_CARD", evade(cn_id(rng), rng))
    b.text("，" + rng.choice(["手机", "电话", "联系电话："]))
    phone = cn_mobile(rng)
    if rng.random() < 0.2:
        phone = rng.choice(["+86 ", "+86", "0086 "]) + phone
    b.pii("PHONE_NUMBER", evade(phone, rng)).text(f"。{fact1}，{fact2}。")
    if rng.random() < 0.5:
        b.text(rng.choice(["住址：", "家住", "现住"])).pii("LOCATION", _zh_address(rng)).text("。")
    if rng.random() < 0.4:
        b.pii("DATE_TIME", _dob(rng, True)).text("出生。")
    if rng.random() < 0.3:
        b.text("主治医生").pii("PERSON", _zh_name(rng)).text("建议复查。")
    return b.build((fact1, fact2), "zh")


def _zh_banking(rng: random.Random) -> Sample:
    b = _Builder()
    fact = rng.choice(BANKING_FACTS[2:])
    name = _zh_name(rng)
    b.text(rng.choice(["客户", "持卡人", "户名："])).pii("PERSON", name)
    b.text(rng.choice(["的银行卡号是", "，卡号", "，借记卡"])).pii(
        "CREDIT_CARD", evade(unionpay_card(rng), rng)
    )
    b.text(f"，{fact}。")
    if rng.random() < 0.5:
        passport = rng.choice("EG") + "".join(rng.choice(string.digits) for _ in range(8))
        b.text(rng.choice(["护照号码", "护照号：", "Passport "])).pii("CN_PASSPORT", passport).text("，")
    b.text("请联系").pii("PERSON", _zh_name(rng)) if rng.random() < 0.4 else b.text("请联系客服")
    b.text("，手机").pii("PHONE_NUMBER", evade(cn_mobile(rng), rng)).text("。")
    return b.build((fact,), "zh")


def _mixed(rng: random.Random) -> Sample:
    b = _Builder()
    fact = rng.choice(CLINICAL_FACTS_EN + CLINICAL_FACTS_ZH)
    zh = _zh_name(rng)
    b.text("Please summarise: 患者").pii("PERSON", zh).text(f" ({fact}), ID ").pii(
        "CN_ID_CARD", evade(cn_id(rng), rng)
    )
    b.text(", mobile ").pii("PHONE_NUMBER", evade(cn_mobile(rng), rng))
    en = _en_name(rng)
    b.text(". Reviewed by ").pii("PERSON", en).text(", email ").pii("EMAIL_ADDRESS", _email(en, rng)).text(
        "."
    )
    return b.build((fact,), "mixed")


def _negative(rng: random.Random) -> Sample:
    """Text with no personal data at all: everything must survive."""
    facts = rng.sample(CLINICAL_FACTS_EN, 2) + rng.sample(CLINICAL_FACTS_ZH, 1) + rng.sample(BANKING_FACTS, 1)
    joiner = rng.choice(["; ", ". ", "，"])
    text = joiner.join(facts) + rng.choice(
        [". Continue current therapy.", "。继续观察。", ". Recheck in 3 months."]
    )
    return Sample(text, (), tuple(facts), "none")


_GENERATORS = (_en_clinical, _en_banking, _zh_clinical, _zh_banking, _mixed, _negative)


def generate(count: int = 300, seed: int = 20240501) -> list[Sample]:
    """``count`` samples, the same ones for the same seed."""
    rng = random.Random(seed)
    return [_GENERATORS[index % len(_GENERATORS)](rng) for index in range(count)]


# Entity-type groups the metrics treat as the same kind of data.
STRUCTURED_TYPES = ("CN_ID_CARD", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "EMAIL_ADDRESS")


# ---------------------------------------------------------------- scoring


@dataclass
class TypeScore:
    labelled: int = 0
    covered: int = 0
    found: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.covered / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.found if self.found else 1.0


def score(
    samples: list[Sample], findings: list[list[object]], min_score: float = 0.5
) -> dict[str, TypeScore]:
    """Recall: a labelled value counts when findings of its type cover every character of it
    (characters that are invisible count as covered). Precision: a finding counts when it
    overlaps a labelled value of its type."""
    scores: dict[str, TypeScore] = {}
    for sample, found in zip(samples, findings, strict=True):
        kept = [f for f in found if f.score >= min_score]  # type: ignore[attr-defined]
        for span in sample.spans:
            entry = scores.setdefault(span.entity_type, TypeScore())
            entry.labelled += 1
            covered = set()
            for f in kept:
                if f.entity_type == span.entity_type:  # type: ignore[attr-defined]
                    covered.update(range(max(f.start, span.start), min(f.end, span.end)))  # type: ignore[attr-defined]
            needed = {
                i
                for i in range(span.start, span.end)
                if sample.text[i] not in ZERO_WIDTH and not sample.text[i].isspace()
            }
            if needed <= covered:
                entry.covered += 1
        for f in kept:
            entry = scores.setdefault(f.entity_type, TypeScore())  # type: ignore[attr-defined]
            entry.found += 1
            if any(
                s.entity_type == f.entity_type and s.start < f.end and f.start < s.end  # type: ignore[attr-defined]
                for s in sample.spans
            ):
                entry.correct += 1
    return scores
