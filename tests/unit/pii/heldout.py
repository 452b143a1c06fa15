"""Held-out PII text: sentences the recognizers were not tuned on, per class of past leaks.

Written the way a hospital or bank user writes (several carrier sentences per class, English and
Chinese), with values made by rules: random area codes (assigned or not), random intranet host
names, random plates, mistyped ID numbers, digits disguised with separators, line breaks and
Chinese numerals. The templates and vocabularies here are deliberately independent of the
recognizers' own regexes and context-word lists: this measures the detector, not its lists.
``clinical_negatives`` are sentences with no personal data whose facts must all survive.

Run ``.venv/bin/python -m tests.unit.pii.heldout`` for recall per class and language.
"""

from __future__ import annotations

import functools
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Case:
    """One sentence with one personal value in it, at ``text[start:end]``."""

    cls: str
    lang: str
    text: str
    start: int
    end: int
    entity_type: str

    @property
    def value(self) -> str:
        return self.text[self.start : self.end]


@dataclass(frozen=True)
class Negative:
    """A sentence without personal data; every fact in ``keep`` must come out unchanged."""

    lang: str
    text: str
    keep: tuple[str, ...]


class _Finding(Protocol):
    @property
    def entity_type(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def score(self) -> float: ...


def _case(cls: str, lang: str, template: str, value: str, entity_type: str) -> Case:
    before, after = template.split("{v}")
    text = before + value + after
    return Case(cls, lang, text, len(before), len(before) + len(value), entity_type)


def _pick(rng: random.Random, items: Sequence[str]) -> str:
    return items[rng.randrange(len(items))]


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


# ---------------------------------------------------------------- 1. e-mail on intranet domains

_LOCAL_FIRST = "wang li m a priya okafor dr nurse billing ops ward j kowalska".split()
_LOCAL_LAST = "li chen okafor ruiz station3 desk smith oncall x admin k lab".split()
_HOST_WORDS = (
    "fileserver ehr pacs intranet hr ward7 stmarys clinic-north branch042 mail exchange lis radiology "
    "payroll helpdesk nas01 dc2 corp backoffice"
).split()
_INTRANET_SUFFIXES = [".example", ".local", ".internal", ".corp", ".lan", ".home.arpa", ".intra", ".test"]
_OTHER_SUFFIXES = [".io", ".corp.io", ".hospital", ".bank", ".health", ".nhs.uk"]


def _email(rng: random.Random) -> str:
    local = _pick(rng, _LOCAL_FIRST)
    if rng.random() < 0.7:
        local += _pick(rng, [".", "_", "-", ""]) + _pick(rng, _LOCAL_LAST)
    if rng.random() < 0.2:
        local += str(rng.randint(1, 99))
    if rng.random() < 0.1:
        local += "+labs"
    roll = rng.random()
    if roll < 0.2:
        return f"{local}@{_pick(rng, _HOST_WORDS)}"  # single-label host
    host = _pick(rng, _HOST_WORDS)
    if rng.random() < 0.4:
        host = f"{_pick(rng, _HOST_WORDS)}.{host}"
    suffix = _pick(rng, _INTRANET_SUFFIXES) if roll < 0.8 else _pick(rng, _OTHER_SUFFIXES)
    return f"{local}@{host}{suffix}"


_EMAIL_EN = [
    "Please email the discharge summary to {v}.",
    "Send the signed consent form to {v} by Friday.",
    "Her daughter asked us to write to {v} instead of the home address.",
    "Forward the statement to {v}, not to the branch.",
    "cc {v} on the referral letter",
    "The ticket was opened by {v} this morning.",
    "Results go to <{v}> once verified.",
    "Reply-To: {v}",
    "Escalate to {v}; he handles the chargebacks.",
]
_EMAIL_ZH = [
    "绑定邮箱{v}请查收",
    "请把化验单发到{v}，谢谢。",
    "家属邮箱：{v}。",
    "报告已发送至{v}，请注意查收。",
    "对账单寄到{v}了吗？",
    "联系人邮箱{v}（工作日回复）",
]


def email_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        lang = "zh" if index % 3 == 2 else "en"
        template = _pick(rng, _EMAIL_ZH if lang == "zh" else _EMAIL_EN)
        cases.append(_case("email_intranet", lang, template, _email(rng), "EMAIL_ADDRESS"))
    return cases


# ---------------------------------------------------------------- 2. phone shapes


def _us_phone(rng: random.Random) -> str:
    # Any area code and exchange: many are unassigned, which libphonenumber then calls invalid.
    area, exchange, line = rng.randint(200, 999), rng.randint(200, 999), _digits(rng, 4)
    form = _pick(
        rng,
        [
            "({a}) {e}-{l}",
            "{a}-{e}-{l}",
            "+1 {a} {e} {l}",
            "{a}.{e}.{l}",
            "1-{a}-{e}-{l}",
            "{a} {e} {l}",
            "+1 ({a}) {e}-{l}",
        ],
    )
    return form.format(a=area, e=exchange, l=line)


def _uk_eu_phone(rng: random.Random) -> str:
    return _pick(
        rng,
        [
            f"07{_digits(rng, 3)} {_digits(rng, 6)}",
            f"+44 7{_digits(rng, 3)} {_digits(rng, 6)}",
            f"020 {_digits(rng, 4)} {_digits(rng, 4)}",
            f"+44 (0)20 {_digits(rng, 4)} {_digits(rng, 4)}",
            f"01{_digits(rng, 3)} {_digits(rng, 6)}",
            f"+49 30 {_digits(rng, 8)}",
            f"030 {_digits(rng, 4)} {_digits(rng, 4)}",
            f"+33 1 {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}",
            f"06 {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}",
            f"+31 20 {_digits(rng, 3)} {_digits(rng, 4)}",
            f"+39 02 {_digits(rng, 4)} {_digits(rng, 4)}",
            f"+34 91 {_digits(rng, 3)} {_digits(rng, 2)} {_digits(rng, 2)}",
        ],
    )


def _cn_phone(rng: random.Random) -> str:
    return _pick(
        rng,
        [
            f"010-{_digits(rng, 8)}",
            f"(021) {_digits(rng, 4)} {_digits(rng, 4)}",
            f"0755-{_digits(rng, 8)}",
            f"0{rng.randint(20, 99)}-{_digits(rng, 8)}",
            f"400-{_digits(rng, 3)}-{_digits(rng, 4)}",
            f"1{rng.choice('3456789')}{_digits(rng, 1)} {_digits(rng, 4)} {_digits(rng, 4)}",
        ],
    )


_PHONE_EN = [
    "Reach the patient's daughter at {v}.",
    "Her mobile is {v}, call after 5pm.",
    "Fax the referral to {v}.",
    "Best contact number: {v}",
    "Please call the branch on {v} to confirm the transfer.",
    "Cell {v} (husband)",
    "Tel: {v}",
    "You can reach him on {v} during the day.",
    "The customer left a callback number, {v}.",
    "If no answer, phone the GP surgery at {v}.",
    "Emergency contact - son, {v}",
]
_PHONE_ZH = [
    "联系电话{v}",
    "家属手机：{v}，请通知",
    "请致电{v}确认预约",
    "电话 {v} 转 2",
    "如有疑问请拨打{v}。",
    "客户留的手机号是{v}",
]


def phone_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        if index % 3 == 2:
            cases.append(_case("phone", "zh", _pick(rng, _PHONE_ZH), _cn_phone(rng), "PHONE_NUMBER"))
            continue
        value = _us_phone(rng) if index % 3 == 0 else _uk_eu_phone(rng)
        cases.append(_case("phone", "en", _pick(rng, _PHONE_EN), value, "PHONE_NUMBER"))
    return cases


# ---------------------------------------------------------------- 3. bare and broken identifiers


def ssn_digits(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


_SSN_EN = [
    "ssn {v}",
    "SSN: {v}",
    "social security number {v}",
    "Social Security No. {v} on the claim form",
    "The patient's SSN is {v}, please verify.",
    "SS# {v}",
    "Social Security #{v}",
    "member ssn={v}",
    "Please confirm her social security number ({v}) before release.",
]


def ssn_cases(rng: random.Random, count: int) -> list[Case]:
    return [_case("ssn_bare", "en", _pick(rng, _SSN_EN), ssn_digits(rng), "US_SSN") for _ in range(count)]


_PROVINCE_CODES = [*range(11, 16), 21, 22, 23, *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66)]
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_wrong_check(rng: random.Random) -> str:
    """An 18-character resident ID with a plausible region and birth date but a wrong check character."""
    region = f"{rng.choice(_PROVINCE_CODES)}{rng.randint(1, 99):02d}{rng.randint(1, 99):02d}"
    birth = f"{rng.randint(1930, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = region + birth + _digits(rng, 3)
    right = "10X98765432"[sum(int(d) * w for d, w in zip(first17, _CN_ID_WEIGHTS, strict=True)) % 11]
    return first17 + rng.choice([c for c in "0123456789X" if c != right])


_CN_ID_ZH = [
    "身份证号{v}",
    "身份证：{v}，请核对",
    "证件号码 {v}",
    "患者身份证{v}，信息有误请重新登记",
    "公民身份号码{v}",
    "登记信息：王先生，{v}，男，67岁",
]
_CN_ID_EN = ["Chinese ID card number {v}", "resident ID {v} (PRC)", "ID no. {v}, please re-check"]


def cn_id_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        lang = "en" if index % 4 == 3 else "zh"
        template = _pick(rng, _CN_ID_EN if lang == "en" else _CN_ID_ZH)
        cases.append(_case("cn_id_bad_check", lang, template, cn_id_wrong_check(rng), "CN_ID_CARD"))
    return cases


# ---------------------------------------------------------------- 4. vehicle plates

_PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def us_plate(rng: random.Random) -> str:
    def letters(count: int) -> str:
        return "".join(rng.choice(_PLATE_LETTERS) for _ in range(count))

    return _pick(
        rng,
        [
            f"{letters(3)}-{_digits(rng, 4)}",
            f"{letters(3)} {_digits(rng, 4)}",
            f"{rng.randint(1, 9)}{letters(3)}{_digits(rng, 3)}",
            f"{letters(3)}{_digits(rng, 4)}",
            f"{_digits(rng, 3)}-{letters(3)}",
            f"{letters(2)}{_digits(rng, 1)}-{_digits(rng, 4)}",
        ],
    )


_US_PLATE_EN = [
    "license plate {v}",
    "plate no. {v}",
    "The gray Honda in bay 4 has plate {v}.",
    "Vehicle registration {v}, parked in the visitor lot",
    "Tag number {v} (Texas)",
    "Security noted the license plate number {v} on the CCTV still.",
    "car reg {v}",
]
_CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"


def cn_plate(rng: random.Random) -> str:
    province = rng.choice(_CN_PROVINCES)
    letter = rng.choice(_PLATE_LETTERS)
    roll = rng.random()
    if roll < 0.25:
        tail = rng.choice("DF") + rng.choice(_PLATE_LETTERS + string.digits) + _digits(rng, 4)  # new energy
    elif roll < 0.35:
        tail = _digits(rng, 5) + rng.choice("DF")  # new energy, large vehicle
    else:
        chars = [rng.choice(string.digits) for _ in range(5)]
        for position in rng.sample(range(5), rng.randint(0, 2)):
            chars[position] = rng.choice(_PLATE_LETTERS)
        tail = "".join(chars)
    separator = _pick(rng, ["", "", "·", " ", "•"])
    return province + letter + separator + tail


_CN_PLATE_ZH = [
    "车牌号{v}",
    "车牌 {v}",
    "车号：{v}",
    "他开的是{v}，停在地下车库",
    "停车场登记车辆{v}，请车主挪车。",
    "违章车辆{v}已通知车主",
    "家属驾驶{v}来院",
]
_CN_PLATE_EN = ["Chinese plate {v}", "the car ({v}) was towed"]


def plate_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        if index % 2 == 0:
            cases.append(_case("plate_us", "en", _pick(rng, _US_PLATE_EN), us_plate(rng), "VEHICLE_PLATE"))
        else:
            lang = "en" if index % 10 == 9 else "zh"
            template = _pick(rng, _CN_PLATE_EN if lang == "en" else _CN_PLATE_ZH)
            cases.append(_case("plate_cn", lang, template, cn_plate(rng), "VEHICLE_PLATE"))
    return cases


# ---------------------------------------------------------------- 5. obfuscated digits

OBFUSCATING_SEPARATORS = (" ", "-", "\u2013", "\u2014", "/", ".")
_CN_NUMERALS = "〇一二三四五六七八九"


def disguise_digits(digits: str, rng: random.Random) -> str:
    """Digits with a random separator sequence: one after each digit, or between groups."""
    if rng.random() < 0.5:
        sep = _pick(rng, OBFUSCATING_SEPARATORS)
        return sep.join(digits)
    out = []
    for index, digit in enumerate(digits):
        out.append(digit)
        if index < len(digits) - 1 and rng.random() < 0.4:
            out.append(_pick(rng, OBFUSCATING_SEPARATORS) * rng.choice([1, 1, 2]))
    return "".join(out)


def luhn_card(rng: random.Random) -> str:
    body = rng.choice(["4", "51", "55", "6222", "37"])
    body += _digits(rng, (15 if not body.startswith("37") else 14) - len(body))
    total = 0
    for position, ch in enumerate(reversed(body)):
        value = int(ch) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def _card_with_break(rng: random.Random) -> str:
    card = luhn_card(rng)
    groups = [card[i : i + 4] for i in range(0, len(card), 4)]
    cut = rng.randint(1, len(groups) - 1)
    sep = _pick(rng, [" ", "-", "\u2013"])
    return sep.join(groups[:cut]) + _pick(rng, ["\n", " \n", "\r\n", "\n  "]) + sep.join(groups[cut:])


_OBF_SSN_EN = ["SSN {v}", "social security number: {v}", "Her SSN is {v}."]
_OBF_CARD_EN = ["Card number\n{v}\nexp 08/27", "The card on file is {v}, please block it.", "card: {v}"]
_OBF_PHONE_EN = ["call me on {v}", "Phone: {v}", "contact the son at {v}"]
_OBF_MOBILE_ZH = ["手机{v}", "联系电话：{v}，请尽快回电", "请拨打{v}找李老师"]


def _cn_numeral_mobile(rng: random.Random) -> str:
    digits = rng.choice(["138", "139", "186", "150", "177", "199"]) + _digits(rng, 8)
    numerals = "".join(_CN_NUMERALS[int(d)] if rng.random() < 0.95 else d for d in digits)
    return numerals.replace("〇", rng.choice(["〇", "零"])).replace("一", rng.choice(["一", "一", "幺"]))


def obfuscated_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        kind = index % 4
        if kind == 0:
            value = disguise_digits(ssn_digits(rng), rng)
            cases.append(_case("obfuscated", "en", _pick(rng, _OBF_SSN_EN), value, "US_SSN"))
        elif kind == 1:
            value = _card_with_break(rng) if rng.random() < 0.5 else disguise_digits(luhn_card(rng), rng)
            cases.append(_case("obfuscated", "en", _pick(rng, _OBF_CARD_EN), value, "CREDIT_CARD"))
        elif kind == 2:
            digits = f"{rng.randint(200, 999)}{rng.randint(200, 999)}{_digits(rng, 4)}"
            sep = _pick(rng, ["\u2013", "\u2014", "/"])
            value = _pick(
                rng,
                [
                    f"{digits[:3]}{sep}{digits[3:6]}{sep}{digits[6:]}",
                    f"({digits[:3]}) {digits[3:6]}{sep}{digits[6:]}",
                ],
            )
            cases.append(_case("obfuscated", "en", _pick(rng, _OBF_PHONE_EN), value, "PHONE_NUMBER"))
        else:
            cases.append(
                _case("obfuscated", "zh", _pick(rng, _OBF_MOBILE_ZH), _cn_numeral_mobile(rng), "PHONE_NUMBER")
            )
    return cases


# ---------------------------------------------------------------- 6. cards of every issuer

# Issuer prefixes (IIN ranges) and lengths, as the schemes publish them; each case draws a family,
# then a prefix inside its range, then a length.
_CARD_FAMILIES: dict[str, tuple[tuple[int, int], tuple[int, ...]]] = {
    "visa": ((4, 4), (13, 16, 19)),
    "mastercard": ((51, 55), (16,)),
    "mastercard_2": ((2221, 2720), (16,)),
    "amex": ((34, 34), (15,)),
    "amex_37": ((37, 37), (15,)),
    "discover": ((6011, 6011), (16, 19)),
    "discover_64": ((644, 649), (16,)),
    "diners": ((300, 305), (14, 16)),
    "diners_36": ((36, 36), (14,)),
    "jcb": ((3528, 3589), (16, 19)),
    "jcb_15": ((2131, 2131), (15,)),
    "jcb_1800": ((1800, 1800), (15,)),
    "maestro": ((50, 50), (12, 13, 16, 19)),
    "maestro_56": ((56, 58), (12, 16, 19)),
    "maestro_67": ((6759, 6763), (12, 16)),
    "unionpay": ((62, 62), (16, 17, 18, 19)),
    "rupay": ((60, 60), (16,)),
    "mir": ((2200, 2204), (16,)),
    "verve": ((506099, 506198), (16, 19)),
    "uatp": ((1, 1), (15,)),
    "dankort": ((5019, 5019), (16,)),
    "troy": ((9792, 9792), (16,)),
}


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    """``prefix`` and random digits up to ``length``, the last one a Luhn check digit."""
    body = prefix + _digits(rng, length - len(prefix) - 1)
    total = 0
    for position, ch in enumerate(reversed(body)):
        value = int(ch) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def any_issuer_card(rng: random.Random) -> str:
    (low, high), lengths = _CARD_FAMILIES[_pick(rng, sorted(_CARD_FAMILIES))]
    number = luhn_complete(str(rng.randint(low, high)), rng.choice(lengths), rng)
    roll = rng.random()
    if roll < 0.55:
        return number
    if roll < 0.85 or len(number) != 15:
        sep = _pick(rng, [" ", " ", "-"])
        return sep.join(number[i : i + 4] for i in range(0, len(number), 4))
    return f"{number[:4]} {number[4:10]} {number[10:]}"  # 4-6-5, as 15-digit cards are printed


_CARD_EN = [
    "What is the credit limit on {v}?",
    "Please refund the copay to card {v}.",
    "Card no. {v} was declined at the pharmacy.",
    "My debit card {v} was kept by the ATM",
    "Customer disputes a charge on {v} from 12 March.",
    "Charge the deposit to {v}, expiry 09/28.",
    "The card on file is {v}; please update it.",
    "Maestro {v} - block immediately",
    "Paid with {v} at reception",
    "Can you raise the limit for {v}?",
    "Billing: {v}",
]
_CARD_ZH = ["卡号{v}，请冻结", "我的信用卡{v}丢了", "请把退款打到{v}这张卡上"]


def card_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        lang = "zh" if index % 6 == 5 else "en"
        template = _pick(rng, _CARD_ZH if lang == "zh" else _CARD_EN)
        cases.append(_case("card_any_issuer", lang, template, any_issuer_card(rng), "CREDIT_CARD"))
    return cases


# ---------------------------------------------------------------- 7. phones of many countries


def _grouped(rng: random.Random, sizes: Sequence[int], sep: str) -> str:
    return sep.join(_digits(rng, size) for size in sizes)


def intl_phone(rng: random.Random) -> str:
    """A phone number as written in one of many countries, some with a country code, some with
    an extension; area codes random (assigned or not)."""
    d = functools.partial(_digits, rng)
    shapes: list[Callable[[], str]] = [
        lambda: f"0{rng.randint(1, 9)} {_grouped(rng, (2, 2, 2, 2), ' ')}",  # FR
        lambda: f"+33 (0){rng.randint(1, 9)} {_grouped(rng, (2, 2, 2, 2), ' ')}",
        lambda: f"0{rng.randint(1, 9)}.{_grouped(rng, (2, 2, 2, 2), '.')}",
        lambda: f"0{d(3)} {d(7)}",  # DE mobile
        lambda: f"+49 (0){d(2)} {d(7)}",
        lambda: f"+39 0{d(1)} {d(4)} {d(4)}",  # IT
        lambda: f"3{d(2)} {d(3)} {d(4)}",
        lambda: f"{rng.choice('69')}{d(2)} {d(3)} {d(3)}",  # ES
        lambda: f"+34 {rng.choice('69')}{d(2)} {d(2)} {d(2)} {d(2)}",
        lambda: f"0{d(1)}-{d(7)}",  # NL
        lambda: f"0{d(3)} {d(2)} {d(2)} {d(2)}",  # BE
        lambda: f"0{d(2)} {d(3)} {d(2)} {d(2)}",  # CH
        lambda: f"+41 (0){d(2)} {d(3)} {d(2)} {d(2)}",
        lambda: f"0{d(1)}-{d(3)} {d(3)} {d(2)}",  # SE
        lambda: f"+46 (0){d(1)} {d(3)} {d(3)} {d(2)}",
        lambda: f"{d(2)} {d(2)} {d(2)} {d(2)}",  # DK
        lambda: f"{d(2)}-{d(2)}-{d(2)}-{d(2)}",
        lambda: f"{d(3)} {d(2)} {d(3)}",  # NO
        lambda: f"0{d(2)} {d(3)} {d(4)}",  # FI, IE, ZA
        lambda: f"({d(2)}) {d(3)}-{d(3)}",  # short area code, six-digit local number
        lambda: f"({d(2)}) {d(4)}-{d(4)}",  # BR
        lambda: f"({d(2)}) 9{d(4)}-{d(4)}",
        lambda: f"0{d(1)} {d(4)} {d(4)}",  # AU
        lambda: f"04{d(2)} {d(3)} {d(3)}",
        lambda: f"+61 4{d(2)} {d(3)} {d(3)}",
        lambda: f"0{d(1)}-{d(4)}-{d(4)}",  # JP
        lambda: f"010-{d(4)}-{d(4)}",  # KR
        lambda: f"{rng.randint(6, 9)}{d(4)} {d(5)}",  # IN
        lambda: f"+91 {rng.randint(6, 9)}{d(4)} {d(5)}",
        lambda: f"8 ({d(3)}) {d(3)}-{d(2)}-{d(2)}",  # RU
        lambda: f"+7 {d(3)} {d(3)}-{d(2)}-{d(2)}",
        lambda: f"05{d(2)} {d(3)} {d(2)} {d(2)}",  # TR
        lambda: f"{rng.choice('689')}{d(3)} {d(4)}",  # SG, HK
        lambda: f"{d(3)} {d(4)}",  # a local number without its area code
        lambda: f"{d(3)}-{d(4)}",
        lambda: f"{d(3)}-{d(3)}-{d(4)}x{d(rng.randint(2, 5))}",  # US with extension
        lambda: f"({d(3)}){d(3)}-{d(4)}x{d(rng.randint(2, 5))}",
        lambda: f"{d(3)}.{d(3)}.{d(4)}x{d(rng.randint(2, 5))}",
        lambda: f"+1-{d(3)}-{d(3)}-{d(4)}x{d(rng.randint(2, 5))}",
        lambda: f"({d(3)}) {d(3)}-{d(4)} ext. {d(rng.randint(2, 4))}",
        lambda: f"001-{d(3)}-{d(3)}-{d(4)}",
        lambda: f"{d(2)} {d(3)} {d(3)} {d(4)}",  # with a trunk or country prefix, no plus
    ]
    return rng.choice(shapes)()


_PHONE_INTL_EN = [
    "Daughter's mobile: {v}",
    "Please ring the GP practice on {v}.",
    "The patient's home phone is {v}.",
    "Office: {v}",
    "{v} (office)",
    "Fax {v}",
    "Left a voicemail at {v}, no reply yet.",
    "Direct line {v}",
    "They're not picking up at {v}; try again later.",
    "Can someone call me back on {v}?",
    "My contact number is {v}.",
    "Desk: {v}",
    "I didn't get the SMS on my registered number {v}.",
    "Telephone {v}, ask for the ward manager",
]
_PHONE_INTL_PLUS_EN = [  # no phone word at all: only a country code or an extension says it
    "Next of kin: Sofia, {v}",
    "Spoke with the husband, {v}, at noon.",
    "Account holder abroad; {v} is the only way to get hold of her.",
]


def phone_intl_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        value = intl_phone(rng)
        if index % 5 == 4:
            value = _pick(rng, ["+44 7", "+33 6", "+49 15", "+31 6", "+61 4", "+353 8"]) + _digits(rng, 8)
            if rng.random() < 0.5:
                value = f"{_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 4)}x{_digits(rng, 3)}"
            template = _pick(rng, _PHONE_INTL_PLUS_EN)
        else:
            template = _pick(rng, _PHONE_INTL_EN)
        cases.append(_case("phone_intl", "en", template, value, "PHONE_NUMBER"))
    return cases


# ---------------------------------------------------------------- 8. driver's licences

_LICENSE_LETTERS = string.ascii_uppercase


def driver_license(rng: random.Random) -> str:
    """A licence number in one of the US states' shapes (and the UK's 16 characters)."""
    letter = rng.choice(_LICENSE_LETTERS)
    d = functools.partial(_digits, rng)
    return _pick(
        rng,
        [
            f"{letter}{d(7)}",  # CA
            f"{letter}{d(12)}",  # FL, MN
            f"{letter}{d(3)}-{d(3)}-{d(2)}-{d(3)}-{d(1)}",  # FL, printed
            f"{letter}{d(3)}-{d(4)}-{d(4)}",  # IL
            f"{letter}{d(14)}",
            f"{letter}-{d(3)}-{d(3)}-{d(3)}-{d(3)}",  # MD
            d(rng.choice([7, 8, 9])),  # TX, NY, many states
            f"{d(3)} {d(3)} {d(3)}",  # NY, printed
            f"{letter}{rng.choice(_LICENSE_LETTERS)}{d(6)}",  # two letters
            f"{d(2)}{letter}{rng.choice(_LICENSE_LETTERS)}{d(5)}",  # NH
            "".join(rng.choice(_LICENSE_LETTERS) for _ in range(5))  # UK
            + d(6)
            + "".join(rng.choice(_LICENSE_LETTERS) for _ in range(2))
            + d(1)
            + "".join(rng.choice(_LICENSE_LETTERS) for _ in range(2)),
        ],
    )


_LICENSE_EN = [
    "My driver's license number is {v}",
    "Driver's license: {v}, exp 2029",
    "ID checked at admission - drivers license {v}.",
    "DL# {v}",
    "driving licence {v} (photocard)",
    "Copy of driver license no. {v} attached to the loan file",
    "His driver's licence is {v}; please verify against the ID scan.",
]


def license_cases(rng: random.Random, count: int) -> list[Case]:
    return [
        _case("driver_license", "en", _pick(rng, _LICENSE_EN), driver_license(rng), "DRIVER_LICENSE")
        for _ in range(count)
    ]


# ---------------------------------------------------------------- numbers next to phone and card words

_NUMBER_FACTS = [
    "temps 37.58 38.21 37.90",
    "platelets 212 x10^9/L",
    "WBC 6.8 x10^9/L",
    "BP 142/91 mmHg",
    "sample drawn 08:15:30",
    "dose 2.5 mg x 7 days",
    "NDC 0002-1433-80",
    "lot 4521-88-3321",
    "SNOMED CT 1149222004",
    "visit on 2024-03-05",
    "follow-up on 12.05.2024",
    "ratio 1:10000",
    "ICD-10 E11.9",
    "LOINC 4548-4",
    "glucose 110 mg/dL",
    "IV 1000 mL x 2",
    "HbA1c 7.2%",
    "eGFR 58 mL/min/1.73m2",
    "balance 12,450.00 USD",
    "transfer of 3,000 EUR",
    "version 2.14.3",
    "card reader model CR-2100",
]
_NUMBER_NEG_EN = [
    "Called the family: {f1}, {f2}.",
    "Phone review - {f1}; {f2}.",
    "Office note: {f1}, {f2}.",
    "Message from the lab: {f1}; {f2}.",
    "Card statement query; {f1}, {f2}.",
    "Fax received with {f1} and {f2}.",
    "Contact the pharmacy about {f1}; {f2}.",
    "Desk handover: {f1}, {f2}.",
    "Left a voicemail about {f1} and {f2}.",
    "Driver's license checked; {f1}, {f2}.",
]


def number_negatives(rng: random.Random, count: int) -> list[Negative]:
    """Clinical and banking numbers (dates, times, doses, lab values, codes, amounts) next to
    phone, card and licence words: none of them is personal data."""
    out = []
    for _ in range(count):
        f1, f2 = rng.sample(_NUMBER_FACTS, 2)
        out.append(Negative("en", _pick(rng, _NUMBER_NEG_EN).format(f1=f1, f2=f2), (f1, f2)))
    return out


# ---------------------------------------------------------------- clinical facts that must survive

_FACTS_EN = [
    "metformin 500 mg twice daily",
    "HbA1c 7.2%",
    "ICD-10 E11.9",
    "BP 120/80",
    "CPT 99213",
    "amoxicillin 875 mg",
    "INR 2.5",
    "WBC 11.2",
    "platelets 212 x10^9/L",
    "Na 138 mmol/L",
    "eGFR 58",
    "weight 72.5 kg",
    "dose 0.5 mg/kg",
    "ICD-10 I10",
    "LOINC 4548-4",
    "BP 142/91 mmHg",
    "furosemide 40 mg",
    "K 4.1",
]
_DATES = ["03/05/2024", "2024-03-05", "5/3/24", "2024/03/05", "12.05.2024", "March 5, 2024", "05-03-2024"]
_NEG_EN = [
    "Call back in 2 weeks; {f1}, {f2}.",
    "Phone follow-up on {d}: {f1}.",
    "Contact the pharmacy: {f1}; {f2}.",
    "Reach out if {f1} changes. Seen {d}.",
    "Tel visit {d}, {f1}, {f2}.",
    "Please call the ward if {f1}; next review {d}.",
    "Mobile clinic {d}: {f1} and {f2}.",
    "Fax the lab sheet ({f1}, {f2}) dated {d}.",
    "Plate count normal; {f1}; {f2}; visit {d}.",
    "Plan discussed by phone on {d}: {f1}.",
]
_FACTS_ZH = [
    *("血压 120/80 mmHg", "二甲双胍 500mg 每日两次", "空腹血糖 6.1 mmol/L", "糖化血红蛋白 7.2%"),
    *("血小板 212×10^9/L", "体温 37.5℃", "心率 78次/分", "阿司匹林 100mg"),
]
_DATES_ZH = ["2024年3月5日", "2024-03-05", "2024/03/05", "3月5日"]
_NEG_ZH = [
    "电话随访：{f1}，{f2}，复诊日期 {d}。",
    "请联系营养科，{f1}。{d}复查。",
    "手机提醒已发送：{f1}，{f2}。",
    "致电家属说明{f1}，下次就诊{d}。",
]


def clinical_negatives(rng: random.Random, count: int) -> list[Negative]:
    out = []
    for index in range(count):
        if index % 3 == 2:
            f1, f2 = rng.sample(_FACTS_ZH, 2)
            d = _pick(rng, _DATES_ZH)
            template, lang = _pick(rng, _NEG_ZH), "zh"
        else:
            f1, f2 = rng.sample(_FACTS_EN, 2)
            d = _pick(rng, _DATES)
            template, lang = _pick(rng, _NEG_EN), "en"
        text = template.format(f1=f1, f2=f2, d=d)
        out.append(Negative(lang, text, tuple(x for x in (f1, f2, d) if x in text)))
    return out


# ---------------------------------------------------------------- all of it, and the score

CLASSES: dict[str, Callable[[random.Random, int], list[Case]]] = {
    "email_intranet": email_cases,
    "phone": phone_cases,
    "ssn_bare": ssn_cases,
    "cn_id_bad_check": cn_id_cases,
    "plate": plate_cases,
    "obfuscated": obfuscated_cases,
}


# Classes added for issue 18's public corpus (cards of every issuer, phones of many countries,
# driver's licences); kept apart so that the classes above draw the same values as before.
PUBLIC_SHAPE_CLASSES: dict[str, Callable[[random.Random, int], list[Case]]] = {
    "card_any_issuer": card_cases,
    "phone_intl": phone_intl_cases,
    "driver_license": license_cases,
}


def generate(per_class: int = 120, seed: int = 18) -> list[Case]:
    """``per_class`` cases of each class, the same for the same seed."""
    rng = random.Random(seed)
    return [case for make in CLASSES.values() for case in make(rng, per_class)]


def generate_public_shapes(per_class: int = 120, seed: int = 18) -> list[Case]:
    """``per_class`` cases of each of PUBLIC_SHAPE_CLASSES, the same for the same seed."""
    rng = random.Random(seed)
    return [case for make in PUBLIC_SHAPE_CLASSES.values() for case in make(rng, per_class)]


def is_found(case: Case, findings: Sequence[_Finding], min_score: float) -> bool:
    """Findings of the case's type at ``min_score`` or more cover each visible character of the value."""
    covered: set[int] = set()
    for finding in findings:
        if finding.entity_type == case.entity_type and finding.score >= min_score:
            covered.update(range(max(finding.start, case.start), min(finding.end, case.end)))
    needed = {i for i in range(case.start, case.end) if not case.text[i].isspace()}
    return needed <= covered


def recall_table(
    cases: Sequence[Case], findings: Sequence[Sequence[_Finding]], min_score: float
) -> dict[tuple[str, str], tuple[int, int]]:
    """(class, language) -> (found, total)."""
    table: dict[tuple[str, str], tuple[int, int]] = {}
    for case, found in zip(cases, findings, strict=True):
        key = (case.cls, case.lang)
        hit, total = table.get(key, (0, 0))
        table[key] = (hit + is_found(case, found, min_score), total + 1)
    return table


def clinical_kept(negatives: Sequence[Negative], redacted: Sequence[str]) -> int:
    """How many negatives came out with every fact unchanged."""
    return sum(all(fact in out for fact in neg.keep) for neg, out in zip(negatives, redacted, strict=True))


def main() -> None:
    import os

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy
    from policies.pii.redact_body import redact_chat_body

    policy = load_default_pii_policy()
    detector = PIIDetector(policy, cache_key=os.urandom(32))
    cases = generate() + generate_public_shapes()
    findings = [detector.detect(case.text) for case in cases]
    print(f"{'class':<18}{'lang':<6}{'request (>=0.5)':>17}{'answer (>=0.3)':>16}")
    request = recall_table(cases, findings, 0.5)
    answer = recall_table(cases, findings, 0.3)
    for key in sorted(request):
        (hit, total), (ahit, _) = request[key], answer[key]
        print(f"{key[0]:<18}{key[1]:<6}{hit:>6}/{total:<4}{hit / total:>6.3f}{ahit / total:>15.3f}")
    negatives = clinical_negatives(random.Random(19), 300)
    body = {"messages": [{"role": "user", "content": n.text} for n in negatives]}
    out, _, _ = redact_chat_body(body, detector, policy.profile("clinical"))
    kept = clinical_kept(negatives, [m["content"] for m in out["messages"]])
    print(f"clinical facts kept (clinical profile): {kept}/{len(negatives)}")
    numbers = number_negatives(random.Random(20), 300)
    body = {"messages": [{"role": "user", "content": n.text} for n in numbers]}
    out_numbers, _, _ = redact_chat_body(body, detector, policy.profile("clinical"))
    kept_numbers = clinical_kept(numbers, [m["content"] for m in out_numbers["messages"]])
    print(f"numbers next to phone/card/licence words kept (clinical profile): {kept_numbers}/{len(numbers)}")
    if os.environ.get("SHOW_MISSES"):
        for case, found in zip(cases, findings, strict=True):
            if not is_found(case, found, 0.5):
                got = [(f.entity_type, case.text[f.start : f.end], f.score) for f in found]
                print("MISS", case.cls, repr(case.value), "|", repr(case.text), got)
        pairs = [
            *zip(negatives, out["messages"], strict=True),
            *zip(numbers, out_numbers["messages"], strict=True),
        ]
        for neg, message in pairs:
            if not all(fact in message["content"] for fact in neg.keep):
                print("LOST", repr(neg.text), "->", repr(message["content"]))


if __name__ == "__main__":
    main()
