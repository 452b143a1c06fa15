"""Held-out Chinese-side PII text (issue 18, items 5 and 8): sentences the recognizers were not tuned on.

Written the way a Chinese hospital or bank user writes (患者、家属、客户、开户人、联系人、收件人...,
and sentences with no cue word at all), with values made by rules from vocabularies kept here and
nowhere else: surnames (some the recognizer's table lacks), given-name characters, transliterated
Uyghur, Kazakh and foreign names (none of them used to build the recognizer's character set),
pinyin spellings typed by hand, cities, districts, roads, parks and buildings, IBANs of 14
countries with their check digits computed here. The templates do not follow the recognizers'
context-word lists. ``negatives`` are sentences with no personal data built around words that look
like a surname and a given name (高血压, 王府井, 马上, 白天, 黄疸, 方案), drugs, departments, place
names that are not addresses, ward and bed numbers, and English text full of words that are also
pinyin (he, long, fan, bin, ping, hang, man, an): every word in ``keep`` must come out unchanged.

Run ``.venv/bin/python -m tests.unit.pii.heldout_zh`` for recall per class and the share of
negatives kept.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Sequence

from tests.unit.pii.heldout import Case, Negative, clinical_kept, is_found, recall_table

__all__ = [
    "CLASSES",
    "Case",
    "Negative",
    "clinical_kept",
    "generate",
    "is_found",
    "negatives",
    "recall_table",
]


def _case(cls: str, lang: str, template: str, value: str, entity_type: str) -> Case:
    before, after = template.split("{v}")
    return Case(cls, lang, before + value + after, len(before), len(before) + len(value), entity_type)


def _pick(rng: random.Random, items: Sequence[str]) -> str:
    return items[rng.randrange(len(items))]


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


# ---------------------------------------------------------------- names in characters

# The most frequent surnames, and a few rarer ones that the recognizer's table may not hold.
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
    "阎萧濮蔺晁谌揭厉阚邰郦"
)
COMPOUND = ["欧阳", "司马", "诸葛", "上官", "东方", "慕容", "令狐", "皇甫", "公孙", "司徒"]
GIVEN_CHARS = list(
    "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉萍红鹏辉建国志文斌宇浩凯健俊帆帅旭宁龙林欣佳怡雪"
    "琳婷倩颖露瑶璐晨晓阳昊然睿博彬瑞鑫泽轩涵萱梓诗思雨嘉子紫悦可馨琪蕾薇岚菲蓉燕凤兰梅莉艺慧巧美淑惠珠"
    "翠雅芝妍茜秋珊莎锦黛青婉娴瑾婵雁蓓仪荷丹眉君琴蕊菁梦苑婕琰韵卿聪澜毓昭冰爽茗羽希飘滢馥筠柔竹凝欢霄"
    "枫芸寒伊亚宜舒影荔妮宝贝初恒鸿桦骅剑娇纪宽灵媚晴容烁唯威韦雯苇彦忠宗曼逸贤蝶菡蓝儿烟小"
)


def chinese_name(rng: random.Random, given_len: int | None = None) -> str:
    surname = _pick(rng, COMPOUND) if rng.random() < 0.08 else _pick(rng, SURNAMES)
    count = given_len or rng.choice([1, 2, 2])
    return surname + "".join(rng.choice(GIVEN_CHARS) for _ in range(count))


# Transliterated names (Uyghur, Kazakh, Hui, foreign): own name, then father's name or surname.
TRANSLIT_FIRST = [
    *(
        "艾尔肯",
        "阿依古丽",
        "古丽娜尔",
        "热合曼",
        "努尔麦麦提",
        "帕尔哈提",
        "迪丽努尔",
        "阿力木江",
        "祖丽胡玛尔",
    ),
    *("米热古丽", "阿卜杜拉", "吐尔洪", "依明", "肉孜", "如克亚", "麦尔旦", "再努尔", "阿迪力", "艾克拜尔"),
    *(
        "沙吾提",
        "卡米力",
        "努尔兰",
        "叶尔江",
        "阿依达娜",
        "哈斯木",
        "巴合提亚尔",
        "热依拉",
        "帕提古丽",
        "玛依拉",
    ),
    *(
        "阿娜尔古丽",
        "苏比努尔",
        "库尔班",
        "亚森",
        "吾拉音",
        "买合木提",
        "排尔哈提",
        "阿曼古丽",
        "居来提",
        "塔依尔",
    ),
    *("约翰", "玛丽", "迈克尔", "安娜", "大卫", "伊丽莎白", "卡洛斯", "艾米丽", "彼得", "索菲亚"),
]
TRANSLIT_LAST = [
    *("吐尔洪", "买买提", "阿不都拉", "阿不力孜", "艾山", "吐尔地", "阿不来提", "艾海提", "热西提", "艾则孜"),
    *("卡德尔", "买买提明", "托乎提", "阿吾提", "阿布都热合曼", "吾斯曼", "米吉提", "吾守尔", "玉素甫"),
    *("托合提", "哈力木", "别克", "马合沙提", "艾买提", "吾买尔", "尼亚孜", "阿不力米提", "依不拉音"),
    *("史密斯", "居里", "杰克逊", "卡列尼娜", "贝克汉姆", "泰勒", "桑切斯", "布朗", "沃森", "彼得罗娃"),
]
NAME_DOTS = ["·", "·", "•", "・", "．", "‧", "∙", "･"]


def dotted_name(rng: random.Random) -> str:
    dot = _pick(rng, NAME_DOTS)
    name = _pick(rng, TRANSLIT_FIRST) + dot + _pick(rng, TRANSLIT_LAST)
    return name


_NAME_ZH = [
    "患者{v}，男，45岁，因咳嗽3天入院。",
    "开户人：{v}",
    "收件人 {v}，电话见附件",
    "家属{v}签字同意手术。",
    "今天{v}来办理贷款。",
    "联系人{v}（患者之子）",
    "{v}，女，32岁，孕2产1。",
    "请通知{v}明天上午来取报告。",
    "转账给{v}，金额5000元。",
    "客户{v}反映信用卡被盗刷。",
    "主治医生：{v}",
    "{v}来电询问化验结果。",
    "经核实，{v}已于昨日出院。",
    "陪护人员{v}，关系：妻子",
    "8床{v}夜间血压偏高。",
    "请把对账单寄给{v}。",
]


def dotted_name_cases(rng: random.Random, count: int) -> list[Case]:
    return [
        _case("zh_name_dotted", "zh", _pick(rng, _NAME_ZH), dotted_name(rng), "PERSON") for _ in range(count)
    ]


# A name opening a sentence (or a clause), no cue word before it.
_CLAUSE_START_ZH = [
    "{v}的银行卡被冻结了，请协助处理。",
    "{v}的病历请调出来。",
    "{v}的住院押金已退。",
    "{v}的体检报告显示血脂偏高。",
    "{v}的母亲今天来陪护。",
    "{v}的信用卡逾期了。",
    "昨天下午，{v}的家属来过。",
    "已核实。{v}的账户余额不足。",
    "{v}的手术安排在周三。",
    "{v}的贷款申请被退回。",
]


def clause_start_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        name = chinese_name(rng, 1 if index % 3 else 2)  # mostly two-character names
        cases.append(_case("zh_name_clause_start", "zh", _pick(rng, _CLAUSE_START_ZH), name, "PERSON"))
    return cases


def spaced_name(rng: random.Random) -> str:
    surname = _pick(rng, COMPOUND) if rng.random() < 0.25 else _pick(rng, SURNAMES)
    given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice([1, 2])))
    if rng.random() < 0.2 and len(given) == 1:
        given = given * 2  # 娜娜, 婷婷
    return surname + _pick(rng, [" ", " ", "\u3000", "  "]) + given


def spaced_name_cases(rng: random.Random, count: int) -> list[Case]:
    templates = [*_NAME_ZH, "{v} 女士您好，您的快递已到。", "签名：{v}", "开户名 {v}", "{v} 先生的预约已确认"]
    return [
        _case("zh_name_spaced", "zh", _pick(rng, templates), spaced_name(rng), "PERSON") for _ in range(count)
    ]


def plain_name_cases(rng: random.Random, count: int) -> list[Case]:
    """Names in characters in carriers with and without cue words (the public corpus's Chinese set)."""
    templates = [*_NAME_ZH, *_CLAUSE_START_ZH]
    return [_case("zh_name", "zh", _pick(rng, templates), chinese_name(rng), "PERSON") for _ in range(count)]


# ---------------------------------------------------------------- names in pinyin

PINYIN_SURNAMES = (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang "
    "xie song tang han feng deng cao peng zeng xiao tian dong pan yuan cai jiang yu du ye cheng wei su "
    "lu ding ren shen yao jin cui zhong tan fan liao shi jia xia fu fang bai zou meng xiong qin qiu yin "
    "xue yan duan lei hou long tao gu mao hao kong xiang qian ni an ouyang sima zhuge shangguan situ"
).split()
PINYIN_GIVEN = (
    "wei fang na min jing li qiang lei jun yong yan jie juan tao ming chao xia ping gang xiaoming "
    "xiaohong jianguo guoqiang lihua yuting zihan haoran yuxuan xinyi jiahui zhiwei meiling shuang "
    "bingbing nana yiming jiaqi wenjing dongmei lanying chunhua xiuying jianhua hongmei yunfei tianyu "
    "ruoxi siyu mengyao kaixuan junjie zixuan yifan xiaoyu hao lin hui qing rui ting xin yu zhen"
).split()
# English words that are also pinyin: as a surname with a given name that is English too, a name only
# with a cue word before it.
_ENGLISH_BOTH = [
    ("he", "long"),
    ("fan", "bin"),
    ("long", "ping"),
    ("an", "man"),
    ("sun", "hang"),
    ("ma", "pan"),
]


def pinyin_name(rng: random.Random) -> tuple[str, str]:
    """A pinyin name and its casing class."""
    surname, given = _pick(rng, PINYIN_SURNAMES), _pick(rng, PINYIN_GIVEN)
    casing = _pick(rng, ["title", "lower", "upper_surname", "upper", "western", "hyphen"])
    if casing == "title":
        return f"{surname.title()} {given.title()}", casing
    if casing == "lower":
        return f"{surname} {given}", casing
    if casing == "upper_surname":
        return f"{surname.upper()} {given.title()}", casing
    if casing == "upper":
        return f"{surname.upper()} {given.upper()}", casing
    if casing == "western":
        return f"{given.title()} {surname.title()}", casing
    syllables = _two_syllables(given)
    if syllables is None:
        return f"{surname.title()} {given.title()}", "title"
    return f"{surname.title()} {syllables[0].title()}-{syllables[1]}", casing


def _two_syllables(given: str) -> tuple[str, str] | None:
    for cut in range(1, len(given)):
        head, tail = given[:cut], given[cut:]
        if head in _SIMPLE_SYLLABLES and tail in _SIMPLE_SYLLABLES:
            return head, tail
    return None


_SIMPLE_SYLLABLES = frozenset(
    "xiao ming hong jian guo qiang li hua yu ting zi han hao ran xuan xin yi jia hui zhi wei mei ling "
    "bing na qi wen jing dong lan ying chun xiu yun fei tian ruo xi si meng yao kai jun jie fan".split()
)
_PINYIN_EN = [
    "Patient {v} was admitted on Monday with chest pain.",
    "Please transfer the funds to {v} before Friday.",
    "Account holder: {v}",
    "{v} called about her statement.",
    "Contact person {v}, mobile on file.",
    "Dear {v}, your appointment is confirmed.",
    "Signed: {v}",
    "The referral for {v} is attached.",
    "{v} reports dizziness since yesterday.",
    "Beneficiary name {v}",
    "We spoke with {v} this morning.",
    "cc: {v}",
]
_PINYIN_ZH = [
    "客户{v}要求退款",
    "患者拼音名：{v}",
    "英文名 {v}",
    "请核对{v}的护照信息",
    "收款人 {v}",
    "{v}已经到了，请安排。",
]


def pinyin_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        lang = "zh" if index % 3 == 2 else "en"
        if index % 10 == 9:
            surname, given = _ENGLISH_BOTH[index // 10 % len(_ENGLISH_BOTH)]
            value = f"{surname.title()} {given.title()}" if index % 20 == 9 else f"{surname} {given}"
            template = _pick(
                rng, ["Patient {v} was admitted on Monday.", "客户{v}要求退款", "Account holder: {v}"]
            )
            lang = "zh" if "客户" in template else "en"
            cases.append(_case("zh_name_pinyin", lang, template, value, "PERSON"))
            continue
        value, _casing = pinyin_name(rng)
        template = _pick(rng, _PINYIN_ZH if lang == "zh" else _PINYIN_EN)
        cases.append(_case("zh_name_pinyin", lang, template, value, "PERSON"))
    return cases


# ---------------------------------------------------------------- addresses

_CITIES = [
    *("深圳", "杭州", "广州", "成都", "武汉", "南京", "西安", "苏州", "郑州", "长沙", "青岛", "宁波", "厦门"),
    *("合肥", "佛山", "东莞", "无锡", "济南", "大连", "沈阳", "昆明", "福州", "南昌", "贵阳", "温州", "珠海"),
    *("绍兴", "嘉兴", "泉州", "烟台", "洛阳", "柳州", "绵阳", "湛江", "汕头", "扬州", "常州", "南通", "徐州"),
]
_MUNICIPALITIES = ["北京", "上海", "天津", "重庆"]
_DISTRICTS = [
    *("南山", "福田", "西湖", "滨江", "天河", "海珠", "武侯", "锦江", "洪山", "鼓楼", "雁塔", "朝阳", "海淀"),
    *("浦东新", "徐汇", "静安", "和平", "渝中", "江北", "思明", "历下", "高新", "工业园", "岳麓", "金水"),
]
_ROADS = [
    *("文三", "科技园", "建国", "中山", "人民南", "解放", "深南大道", "天目山", "珞喻", "长安", "学院"),
    *("滨海大道", "五一", "南京东", "淮海中", "北京西", "新华", "迎宾", "东风", "黄河", "丽水"),
]
_PARKS = ["科技园", "软件园", "产业园", "工业园", "高新园", "创业园", "大学城", "创意园"]
_BUILDINGS = [
    *("SOHO现代城", "万达广场", "国贸大厦", "阳光花园", "金地小区", "华润中心", "绿地中心", "时代广场"),
    *("碧桂园", "保利花园", "世纪公寓", "幸福家园", "腾讯大厦", "海岸城", "龙湖天街", "银泰城"),
]


def _num(rng: random.Random, low: int, high: int, unit: str) -> str:
    space = rng.random() < 0.5
    return f"{' ' if space else ''}{rng.randint(low, high)}{' ' if space else ''}{unit}"


def loose_address(rng: random.Random) -> str:
    """Addresses without a province, with spaced numbers, with a building name after the number."""
    city = _pick(rng, _CITIES)
    district = _pick(rng, _DISTRICTS)
    road = _pick(rng, _ROADS)
    shape = rng.randrange(7)
    if shape == 0:  # 深圳南山科技园 8 号楼
        return f"{city}{district}{_pick(rng, _PARKS)}{_num(rng, 1, 30, '号楼')}".rstrip()
    if shape == 1:  # 杭州市西湖区文三路 90 号
        suffix = "" if road.endswith("大道") else "路"
        return f"{city}市{district}区{road}{suffix}{_num(rng, 1, 400, '号')}".rstrip()
    if shape == 2:  # 南山区科技园 3 栋 1201 室
        tail = _num(rng, 1, 30, "栋") + _num(rng, 101, 3205, "室")
        return f"{district}区{_pick(rng, _PARKS)}{tail}".rstrip()
    if shape == 3:  # 北京朝阳区建国路88号SOHO现代城
        town = _pick(rng, _MUNICIPALITIES)
        return (
            f"{town}{district}区{road.removesuffix('大道')}路{rng.randint(1, 300)}号{_pick(rng, _BUILDINGS)}"
        )
    if shape == 4:  # 中山路 12 号阳光花园 5 栋 2 单元 301 室
        tail = _num(rng, 1, 30, "栋") + _num(rng, 1, 6, "单元") + _num(rng, 101, 2505, "室")
        return (
            f"{road.removesuffix('大道')}路{_num(rng, 1, 300, '号')}{_pick(rng, _BUILDINGS)}{tail}".replace(
                "  ", " "
            ).strip()
        )
    if shape == 5:  # 广州天河区天河路 385 号 5 楼
        street = f"{road.removesuffix('大道')}路{_num(rng, 1, 400, '号')}{_num(rng, 1, 40, '楼')}"
        return f"{city}{district}区{street}".replace("  ", " ").strip()
    # 成都高新区天府大道 1700 号 A 座 12 层
    letter = rng.choice("ABCDE")
    street = f"{road}{'' if road.endswith('大道') else '路'}{_num(rng, 1, 2000, '号')}"
    return f"{city}{district}区{street} {letter} 座 {rng.randint(2, 40)} 层".replace("  ", " ").strip()


_ADDRESS_ZH = [
    "住址：{v}",
    "家住{v}，独居。",
    "快递寄到{v}，谢谢",
    "收货地址 {v}",
    "现住{v}，联系电话见下",
    "公司地址：{v}",
    "{v}",
    "请把材料送到{v}。",
    "患者搬到了{v}，请更新档案。",
    "账单地址：{v}（请勿寄往旧址）",
]


def address_cases(rng: random.Random, count: int) -> list[Case]:
    return [
        _case("zh_address_loose", "zh", _pick(rng, _ADDRESS_ZH), loose_address(rng), "LOCATION")
        for _ in range(count)
    ]


# ---------------------------------------------------------------- IBAN in any casing

# Country, BBAN length, and what a BBAN is made of ("n" digits, "a" upper-case letters, "c" either).
_IBAN_FORMATS = {
    "DE": "n18",
    "GB": "a4n14",
    "FR": "n10c11n2",
    "NL": "a4n10",
    "ES": "n20",
    "IT": "a1n10c12",
    "CH": "n5c12",
    "BE": "n12",
    "AT": "n16",
    "PL": "n24",
    "SE": "n20",
    "IE": "a4n14",
    "SA": "n2c18",
    "AE": "n19",
}


def iban(rng: random.Random, country: str | None = None) -> str:
    """A valid IBAN (upper case, no spaces) with its MOD 97-10 check digits computed here."""
    country = country or _pick(rng, sorted(_IBAN_FORMATS))
    bban = ""
    spec = _IBAN_FORMATS[country]
    index = 0
    while index < len(spec):
        kind = spec[index]
        index += 1
        size = ""
        while index < len(spec) and spec[index].isdigit():
            size += spec[index]
            index += 1
        pool = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}[
            kind
        ]
        bban += "".join(rng.choice(pool) for _ in range(int(size)))
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def iban_variant(rng: random.Random) -> str:
    value = iban(rng)
    casing = rng.randrange(4)
    if casing == 0:
        value = value.lower()
    elif casing == 1:
        value = value[:2].lower() + value[2:]
    elif casing == 2:
        value = "".join(ch.lower() if rng.random() < 0.5 else ch for ch in value)
    sep = _pick(rng, [" ", "", "-", " ", "  "])
    return sep.join(value[i : i + 4] for i in range(0, len(value), 4)) if sep else value


_IBAN_EN = [
    "IBAN: {v}",
    "Please wire the refund to {v} today.",
    "her iban is {v}, bank in Munich",
    "Beneficiary account {v} (SEPA)",
    "pay to {v} ref invoice 2231",
]
_IBAN_ZH = ["汇款账户IBAN {v}", "收款账号：{v}，请核对", "客户的国际账号是{v}", "请退款到{v}。"]


def iban_cases(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for index in range(count):
        lang = "zh" if index % 3 == 2 else "en"
        template = _pick(rng, _IBAN_ZH if lang == "zh" else _IBAN_EN)
        cases.append(_case("iban_any_case", lang, template, iban_variant(rng), "IBAN_CODE"))
    return cases


# ---------------------------------------------------------------- the public corpus's Chinese set


def _mobile(rng: random.Random) -> str:
    digits = _pick(rng, ["13", "15", "17", "18", "19"]) + str(rng.randint(0, 9)) + _digits(rng, 8)
    return _pick(
        rng,
        [
            digits,
            f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}",
            f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}",
            f"0086 {digits}",
            f"86-{digits}",
            f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
            f"{digits[:3]} {digits[3:7]} {digits[7:]}",
            f"(+86){digits}",
        ],
    )


def _landline(rng: random.Random) -> str:
    area = _pick(rng, ["010", "021", "020", "0755", "0571", "028", "027", "025", "0512"])
    local = str(rng.randint(2, 8)) + _digits(rng, 7 if len(area) == 3 else rng.choice([6, 7]))
    return _pick(
        rng, [f"{area}-{local}", f"({area}){local}", f"{area} {local[:4]} {local[4:]}", f"{area}{local}"]
    )


_PHONE_ZH = [
    "联系电话{v}",
    "家属手机：{v}，请通知",
    "有事打{v}",
    "座机 {v} 转 8021",
    "客户留的号码是{v}",
    "急诊请找{v}（24小时）",
    "{v}，张医生的手机",
    "回拨{v}无人接听",
]


def phone_cases(rng: random.Random, count: int) -> list[Case]:
    return [
        _case(
            "zh_phone", "zh", _pick(rng, _PHONE_ZH), _mobile(rng) if i % 3 else _landline(rng), "PHONE_NUMBER"
        )
        for i in range(count)
    ]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_REGIONS = ["110105", "310104", "440305", "330106", "510107", "420111", "320106", "650102", "540102"]


def cn_id(rng: random.Random) -> str:
    first17 = (
        _pick(rng, _ID_REGIONS) + f"{rng.randint(1940, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    )
    first17 += _digits(rng, 3)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]
    value = first17 + check
    return _pick(rng, [value, value.lower(), f"{value[:6]} {value[6:14]} {value[14:]}"])


_ID_ZH = [
    "身份证{v}",
    "证件号：{v}",
    "开户证件 {v}",
    "患者身份证号码为{v}，请核对",
    "{v}（本人身份证）",
    "这是我的身份证号{v}",
]


def id_cases(rng: random.Random, count: int) -> list[Case]:
    return [_case("zh_id", "zh", _pick(rng, _ID_ZH), cn_id(rng), "CN_ID_CARD") for _ in range(count)]


def bank_card(rng: random.Random) -> str:
    length = rng.choice([16, 19])
    body = _pick(rng, ["6222", "6228", "6217", "6214", "6225", "6230"]) + _digits(rng, length - 5)
    total = 0
    for position, ch in enumerate(reversed(body)):
        value = int(ch) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    card = body + str((10 - total % 10) % 10)
    sep = _pick(rng, ["", " ", "-", ""])
    return sep.join(card[i : i + 4] for i in range(0, len(card), 4)) if sep else card


_CARD_ZH = [
    "银行卡号{v}",
    "请转到{v}，工商银行",
    "还款账户：{v}",
    "卡号 {v} 已挂失",
    "我的储蓄卡是{v}",
    "{v}这张卡被冻结了",
]


def card_cases(rng: random.Random, count: int) -> list[Case]:
    return [
        _case("zh_bank_card", "zh", _pick(rng, _CARD_ZH), bank_card(rng), "CREDIT_CARD") for _ in range(count)
    ]


def _email(rng: random.Random) -> str:
    local = _pick(rng, [*PINYIN_SURNAMES[:30], "xiaoming", "lihua", "kefu", "hr", "admin"])
    local += _pick(rng, ["", ".", "_"]) + _pick(rng, PINYIN_GIVEN[:30]) if rng.random() < 0.7 else ""
    if rng.random() < 0.4:
        local += str(rng.randint(1, 1999))
    if rng.random() < 0.2:
        local = _digits(rng, rng.randint(6, 10))  # a QQ number
        return f"{local}@qq.com"
    return f"{local}@{_pick(rng, _MAIL_DOMAINS)}"


_MAIL_DOMAINS = ["163.com", "126.com", "qq.com", "sina.com", "hospital.cn", "bank.com.cn", "foxmail.com"]


_EMAIL_ZH = ["邮箱{v}", "请发到{v}谢谢", "结果已发送至{v}。", "联系邮箱：{v}（工作日）", "{v}是我的邮箱"]


def email_cases(rng: random.Random, count: int) -> list[Case]:
    return [
        _case("zh_email", "zh", _pick(rng, _EMAIL_ZH), _email(rng), "EMAIL_ADDRESS") for _ in range(count)
    ]


def tool_call_cases(rng: random.Random, count: int) -> list[Case]:
    """One value inside the JSON arguments of a tool call, written with ensure_ascii=False."""
    makers: list[tuple[str, str, Callable[[random.Random], str]]] = [
        ("patient_name", "PERSON", chinese_name),
        ("客户姓名", "PERSON", chinese_name),
        ("name", "PERSON", dotted_name),
        ("phone", "PHONE_NUMBER", _mobile),
        ("联系电话", "PHONE_NUMBER", _mobile),
        ("id_number", "CN_ID_CARD", cn_id),
        ("card_no", "CREDIT_CARD", bank_card),
        ("address", "LOCATION", loose_address),
        ("email", "EMAIL_ADDRESS", _email),
    ]
    cases = []
    for index in range(count):
        key, entity_type, make = makers[index % len(makers)]
        value = make(rng)
        args = {"action": _pick(rng, ["查询", "转账", "预约", "lookup"]), key: value, "备注": "加急"}
        text = json.dumps(args, ensure_ascii=False)
        marker = json.dumps(value, ensure_ascii=False)[1:-1]
        start = text.index(marker, text.index(json.dumps(key, ensure_ascii=False)))
        cases.append(Case("zh_tool_call", "zh", text, start, start + len(marker), entity_type))
    return cases


# ---------------------------------------------------------------- negatives

# Sentences with no personal data; each keeps the words listed after it. Words that start with a
# surname character (高血压, 马上, 黄疸, 华法林, 叶酸, 房颤 ...), departments, places that are not an
# address, ward and bed numbers, dotted lists, and English text made of pinyin-looking words.
_NEGATIVES_ZH: list[tuple[str, tuple[str, ...]]] = [
    ("患者高血压三年，规律服药。", ("高血压",)),
    ("高血压的患者需要定期复查。", ("高血压",)),
    ("黄疸的原因待查，建议查肝功能。", ("黄疸",)),
    ("患者黄疸加重，转消化内科。", ("黄疸", "消化内科")),
    ("马上的安排是先做CT。", ("马上",)),
    ("家属马上到，请稍等。", ("马上",)),
    ("白天的血压比夜间高。", ("白天",)),
    ("方案的细节下周讨论。", ("方案",)),
    ("治疗方案已确认，下周一开始化疗。", ("方案",)),
    ("明天去王府井买药。", ("王府井",)),
    ("王府井的药店关门了。", ("王府井",)),
    ("心内科的床位已满，请转到心外科。", ("心内科", "心外科")),
    ("华法林的剂量调整为3mg。", ("华法林",)),
    ("患者华法林抗凝，INR 2.5。", ("华法林",)),
    ("叶酸片每日一次。", ("叶酸",)),
    ("房颤的患者需要抗凝。", ("房颤",)),
    ("患者房颤病史五年。", ("房颤",)),
    ("左侧肢体无力，右侧正常。", ("左侧", "右侧")),
    ("白细胞的数值偏高。", ("白细胞",)),
    ("甘露醇的用量需要调整。", ("甘露醇",)),
    ("余额不足，无法扣款。", ("余额",)),
    ("客户余额不足，请提醒还款。", ("余额",)),
    ("常规的检查已经做完。", ("常规",)),
    ("程序的问题已经修复。", ("程序",)),
    ("任务的截止日期是周五。", ("任务",)),
    ("周末的门诊照常开放。", ("周末",)),
    ("金额的上限是五万元。", ("金额",)),
    ("艾司唑仑睡前服用。", ("艾司唑仑",)),
    ("谷丙转氨酶升高，复查肝功能。", ("谷丙转氨酶",)),
    ("沙丁胺醇的吸入方法已宣教。", ("沙丁胺醇",)),
    ("雷尼替丁已停用。", ("雷尼替丁",)),
    ("曲马多的副作用是恶心。", ("曲马多",)),
    ("孟鲁司特的疗程是一个月。", ("孟鲁司特",)),
    ("石膏的固定时间为六周。", ("石膏",)),
    ("康复科的医生下午会诊。", ("康复科",)),
    ("温度的变化会影响药效。", ("温度",)),
    ("毛细血管的再充盈时间正常。", ("毛细血管",)),
    ("舒张压的目标是80以下。", ("舒张压",)),
    ("窦性心律，无明显异常。", ("窦性心律",)),
    ("宫颈的检查结果正常。", ("宫颈",)),
    ("查体的结果已录入。", ("查体",)),
    ("麻醉的风险已告知家属。", ("麻醉",)),
    ("顾客的反馈很重要。", ("顾客",)),
    ("费用的明细见附件。", ("费用",)),
    ("明天的手术取消。", ("明天",)),
    ("阳性的结果需要复核。", ("阳性",)),
    ("梅毒的筛查结果阴性。", ("梅毒",)),
    ("霍乱的疫情已结束。", ("霍乱",)),
    ("请到门诊楼 3 层抽血。", ("门诊楼 3 层",)),
    ("住院部 8 号楼的电梯在维修。", ("住院部 8 号楼",)),
    ("3 号床需要换药。", ("3 号床",)),
    ("请到 2 号窗口缴费。", ("2 号窗口",)),
    ("北京协和医院的专家明天会诊。", ("北京协和医院",)),
    ("上海市第一人民医院的报告已收到。", ("上海市第一人民医院",)),
    ("我们在深圳和广州都有分行。", ("深圳", "广州")),
    ("科技园的网点周末营业。", ("科技园",)),
    ("中山路的分行搬家了。", ("中山路",)),
    ("高血压·糖尿病·冠心病的随访表已更新。", ("高血压·糖尿病·冠心病",)),
    ("阿莫西林·克拉维酸钾每日两次。", ("阿莫西林·克拉维酸钾",)),
    ("中国·北京的会议延期。", ("中国·北京",)),
    ("新疆·喀什分行开业。", ("新疆·喀什",)),
    ("2024·秋季体检安排已发布。", ("2024·秋季",)),
    ("内科·病房管理规定", ("内科·病房",)),
    ("二甲双胍 500mg 每日两次，空腹血糖 6.1 mmol/L。", ("二甲双胍 500mg", "6.1 mmol/L")),
    ("血压 120/80 mmHg，心率 78次/分。", ("120/80 mmHg", "78次/分")),
    ("利率 3.45%，余额 8,562.30 元。", ("3.45%", "8,562.30")),
]
_NEGATIVES_EN: list[tuple[str, tuple[str, ...]]] = [
    ("He can walk to the ward without help.", ("He can walk",)),
    ("She ran a fever overnight; he long ago stopped smoking.", ("She ran", "he long ago")),
    ("The fan was on and the man was asleep.", ("fan was on", "man was asleep")),
    ("Long term care plan reviewed.", ("Long term",)),
    ("Ping the on-call team if the pain gets worse.", ("Ping the",)),
    ("Hang the IV bag and bin the old forms.", ("Hang the", "bin the")),
    ("He is an in-patient; an MRI is booked.", ("an in-patient", "an MRI")),
    ("Tai chi class on Monday; feng shui talk on Friday.", ("Tai chi", "feng shui")),
    ("Transfer to the Hong Kong branch.", ("Hong Kong",)),
    ("Sun exposure and yin yang balance were discussed.", ("Sun exposure", "yin yang")),
    ("he can hang on until the pan is clean", ("he can hang on", "pan is clean")),
    ("She sang in the choir; he ran home.", ("She sang", "he ran")),
    ("A human bite wound was cleaned.", ("human bite",)),
    ("The panda toy was left in bay 4.", ("panda toy",)),
    ("Long Beach office, Fan Pier branch.", ("Long Beach", "Fan Pier")),
    ("He Can Help You Today", ("He Can Help",)),
    ("A man can ping the server.", ("man can ping",)),
    ("The sun shone; long may it last.", ("long may",)),
]


def negatives(rng: random.Random, count: int) -> list[Negative]:
    """Sentences without personal data, one or two handwritten sentences each, Chinese and English."""
    out = []
    for index in range(count):
        if index % 4 == 3:
            text, keep = _pick_pair(rng, _NEGATIVES_EN)
            out.append(Negative("en", text, keep))
        else:
            text, keep = _pick_pair(rng, _NEGATIVES_ZH)
            out.append(Negative("zh", text, keep))
    return out


def _pick_pair(
    rng: random.Random, items: Sequence[tuple[str, tuple[str, ...]]]
) -> tuple[str, tuple[str, ...]]:
    first = items[rng.randrange(len(items))]
    if rng.random() < 0.5:
        return first
    second = items[rng.randrange(len(items))]
    joiner = "" if first[0][-1] in "。？！" else " "
    return first[0] + joiner + second[0], first[1] + second[1]


# ---------------------------------------------------------------- all of it, and the score

CLASSES: dict[str, Callable[[random.Random, int], list[Case]]] = {
    "zh_name_dotted": dotted_name_cases,
    "zh_name_clause_start": clause_start_cases,
    "zh_name_spaced": spaced_name_cases,
    "zh_name_pinyin": pinyin_cases,
    "zh_address_loose": address_cases,
    "iban_any_case": iban_cases,
    "zh_name": plain_name_cases,
    "zh_phone": phone_cases,
    "zh_id": id_cases,
    "zh_bank_card": card_cases,
    "zh_email": email_cases,
    "zh_tool_call": tool_call_cases,
}


def generate(per_class: int = 120, seed: int = 18) -> list[Case]:
    """``per_class`` cases of each class, the same for the same seed."""
    rng = random.Random(seed)
    return [case for make in CLASSES.values() for case in make(rng, per_class)]


def main() -> None:
    import os

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy
    from policies.pii.redact_body import redact_chat_body

    policy = load_default_pii_policy()
    detector = PIIDetector(policy, cache_key=os.urandom(32))
    cases = generate()
    findings = [detector.detect(case.text) for case in cases]
    print(f"{'class':<22}{'lang':<6}{'request (>=0.5)':>17}{'answer (>=0.3)':>16}")
    request = recall_table(cases, findings, 0.5)
    answer = recall_table(cases, findings, 0.3)
    for key in sorted(request, key=lambda k: (list(CLASSES).index(k[0]) if k[0] in CLASSES else 99, k)):
        (hit, total), (ahit, _) = request[key], answer[key]
        print(f"{key[0]:<22}{key[1]:<6}{hit:>6}/{total:<4}{hit / total:>6.3f}{ahit / total:>15.3f}")
    sentences = negatives(random.Random(19), 300)
    body = {"messages": [{"role": "user", "content": n.text} for n in sentences]}
    out, _, _ = redact_chat_body(body, detector, policy.profile("clinical"))
    redacted = [m["content"] for m in out["messages"]]
    for lang in ("zh", "en"):
        pairs = [(n, r) for n, r in zip(sentences, redacted, strict=True) if n.lang == lang]
        kept = clinical_kept([n for n, _ in pairs], [r for _, r in pairs])
        print(f"negatives kept ({lang}, clinical profile): {kept}/{len(pairs)}")
    if os.environ.get("SHOW_MISSES"):
        for case, found in zip(cases, findings, strict=True):
            if not is_found(case, found, 0.5):
                got = [(f.entity_type, case.text[f.start : f.end], f.score) for f in found]
                print("MISS", case.cls, repr(case.value), "|", repr(case.text), got)
        for neg, text in zip(sentences, redacted, strict=True):
            if not all(fact in text for fact in neg.keep):
                print("LOST", repr(neg.text), "->", repr(text))


if __name__ == "__main__":
    main()
