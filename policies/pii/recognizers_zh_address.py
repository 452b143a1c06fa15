"""Chinese street addresses: a province, city or district, then roads, numbers and units."""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.recognizer_base import RuleRecognizer
from policies.pii.recognizers_zh_names import CJK_RE
from policies.pii.zh_script import to_simplified

_PROVINCES = (
    "北京|上海|天津|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|"
    "贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
# A place-name character: any CJK character except ones that end the preceding clause.
# Some characters end a clause only in some words (我和, 目前, 现住, 家住, 电话): 和平区, 天目山路,
# 现代城, 石家庄, 电子产业园 are places.
_STOP = "住在于是的到址为与及从往去来向位居寄送发了请把将我他她你号"
_STOP_WORDS = "现住|现在|现居|目前|和我|和他|和她|和你|家住|我家|回家|电话|姓名|患者|客户"
_P = r"(?:(?!" + _STOP_WORDS + r")(?![" + _STOP + r"])[\u4e00-\u9fff])"
# A character of a building's name (现代城, 世纪公寓): fewer stops, no clause starts after a number.
_PB = r"(?:(?![的是在了和与及请把将我他她你])[\u4e00-\u9fff])"
# Units of a street number; numbers may be written with spaces around them (文三路 90 号, 3 栋 1201 室).
_FIRST_UNIT = r"(?: ?\d+(?:[-—]\d+)? ?(?:号院|号楼|号|弄|栋|幢|座)| ?[A-Za-z] ?(?:座|栋))"
_MORE_UNITS = (
    r"(?: ?\d+(?:[-—]\d+)? ?(?:号楼|号|栋|幢|座|单元|楼|层|室)| ?[A-Za-z] ?(?:座|栋)|[-—]\d{3,4}(?!\d)){0,8}"
    r"(?:(?<=[栋幢座元]) ?\d{2,4}(?![\d.]))?"  # a room without 室: 3栋1201
)
_ADDRESS_RE = regex.compile(
    r"(?P<prov>(?:" + _PROVINCES + r")(?:省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区)?)?"
    r"(?P<city>" + _P + r"{1,6}?(?:市|自治州|州|盟|地区))?"
    r"(?P<district>" + _P + r"{1,6}?(?:(?<![病院诊])区|县|旗|镇|乡|街道))?"
    r"(?P<road>" + _P + r"{1,10}?(?:大道|道|路|街|巷|胡同|里|村)(?:[一二三四五六七八九十\d]段)?)?"
    # A park, estate or building instead of a road (深圳南山科技园 8 号楼, 南山区科技园 3 栋).
    r"(?P<park>" + _P + r"{0,10}?(?:园区|开发区|工业区|小区|公寓|大厦|广场|新村|社区|大院|园|城|苑))?"
    r"(?P<bare>" + _P + r"{2,8}?(?= ?\d+(?:[-—]\d+)? ?[号弄]))?"  # a street without suffix: 河南岸18号
    r"(?P<number>" + _FIRST_UNIT + _MORE_UNITS + r")?"
    # The building after the number (建国路88号SOHO现代城), and its own units.
    r"(?:(?<=[号弄栋幢座]) ?(?P<building>(?:[A-Za-z]{2,12}|" + _PB + r"){1,10}?(?:大厦|广场|中心|花园|小区|"
    r"公寓|苑|城|家园|新村|大楼|写字楼|天街|园|府|湾|公馆|商城)"
    # An estate of any name (恒大名都, 书香门第) when a building or unit number follows it.
    r"|(?:[A-Za-z]{2,12}|" + _PB + r"){2,10}?(?= ?\d+ ?(?:栋|幢|座|号楼|单元)))"
    r"(?P<inner>" + _MORE_UNITS + r"))?"
)


# The last character of a component's suffix, or a unit after a number: every address has one within
# _ANCHOR_REACH characters of its start (a province of 3 characters and 自治区, a park name of 10 and
# 科技园, ...), so the matcher skips text that has none.
_ADDRESS_ANCHOR_RE = regex.compile(r"[省市州盟区县旗镇乡道路街巷同里村园城寓厦场院]|[\dA-Za-z] ?[号弄栋幢座]")
_ANCHOR_REACH = 16


# A mainland postal code written after the address, with or without a space or a comma.
_POSTCODE_AFTER_RE = regex.compile(r"[ \t,，]{0,2}(?:邮编[:：]?[ \t]?)?[0-8]\d{5}(?!\d)")
_SUB_NUMBER_RE = regex.compile(r"之\d{1,4}(?:号|楼)?(?:\d{1,3}楼)?")
# A Taiwanese postal code written before the address (3, 5 or 6 digits): 84177 臺東市中華街507號9樓.
_POSTCODE_BEFORE_RE = regex.compile(r"(?<!\d)\d{3}(?:\d{2,3})?[ \t]{0,2}\Z")


class ChineseAddressRecognizer(RuleRecognizer):
    """Chinese postal addresses: province / city / district / road or park / number / building.

    Any two of them make an address when one is a road, park or number (杭州市西湖区文三路 90 号,
    深圳南山科技园 8 号楼, 南山区科技园 3 栋 1201 室), or two administrative levels on their own
    (湖南省长沙市, lower score). A ward or building of the hospital (门诊楼 3 层, 8 号床) has none.
    """

    entity_type = "LOCATION"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "LOCATION" not in entities or not CJK_RE.search(text):
            return []
        text = to_simplified(text)  # 臺北市中山區 as 台北市中山区; same offsets
        anchors = [m.start() for m in _ADDRESS_ANCHOR_RE.finditer(text)]
        results: list[RecognizerResult] = []
        position = 0
        next_anchor = 0
        while position < len(text):
            # Start only where an address could reach an anchor: elsewhere every component is empty.
            while next_anchor < len(anchors) and anchors[next_anchor] < position:
                next_anchor += 1
            if next_anchor == len(anchors):
                break
            position = max(position, anchors[next_anchor] - _ANCHOR_REACH)
            match = _ADDRESS_RE.search(text, position)
            if match is None:
                break
            if match.end() == match.start():
                position = match.start() + 1
                continue
            parts = {name for name, value in match.groupdict().items() if value}
            admin = parts & {"prov", "city", "district"}
            street = parts & {"road", "park", "number"}
            if "bare" in parts and admin:
                street.add("bare")  # 住院部 8 号楼 is no address; 金华婺城区河南岸18号 is
            if (admin and street) or len(street) >= 2 or len(admin) >= 2:
                score = 0.85 if street else 0.6
                start, end = match.start(), match.end()
                sub_number = _SUB_NUMBER_RE.match(text, end)
                if sub_number is not None:
                    end = sub_number.end()  # 80號之9: a Taiwanese sub-number of the house
                postcode = _POSTCODE_AFTER_RE.match(text, end)
                if postcode is not None:
                    end = postcode.end()  # 蒋路H座 477835: the six-digit postal code belongs to it
                before = _POSTCODE_BEFORE_RE.search(text, max(0, start - 8), start)
                if before is not None:
                    start = before.start()
                results.append(RecognizerResult("LOCATION", start, end, score))
                position = end
            else:
                position = match.start() + 1
        return results
