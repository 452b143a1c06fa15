"""Chinese person names with no cue word (issue 18): a tuning generator of its own.

Surnames (single and compound, after the Hundred Family Surnames 百家姓 and the common surnames of
today), given-name characters and carrier sentences are written here and nowhere else; they are
not the recognizer's tables, nor ``heldout_zh``'s, nor the probe's. Carriers are hospital and bank
phrasing that puts a name where no cue word (患者, 客户 ...) announces it: after a verb (请联系…确认),
opening a sentence before a verb (…今天复诊), in a list with 、, before 的, in quotes, after a
preposition or a causative verb (由…负责, 让…签字) and before a title (…医生, …经理).

``negatives`` are sentences in the same positions built from words that begin with a surname
character (高血压, 王府井, 张力, 黄疸, 白细胞, 周期, 方案, 平安银行, 江苏 ...): none may give a PERSON.

Tune on one seed, report on two others:
``.venv/bin/python -m tests.unit.pii.heldout_zh_names 7 11 13``.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence

from tests.unit.pii.heldout import Case, Negative, is_found, recall_table

__all__ = ["CLASSES", "COMPOUNDS", "SINGLES", "generate", "negatives"]

# Single surnames: the frequent ones of today and rarer ones of the 百家姓.
SINGLES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒"
    "阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司"
    "卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙"
    "荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝赖卿鄢蔺"
)
# Compound surnames, the frequent ones weighted by repetition.
COMPOUNDS = [
    *("欧阳", "欧阳", "欧阳", "上官", "上官", "司马", "司马", "诸葛", "诸葛", "皇甫", "慕容", "令狐"),
    *("尉迟", "公孙", "长孙", "宇文", "司徒", "夏侯", "端木", "独孤", "轩辕", "呼延", "澹台", "申屠"),
    *("闻人", "濮阳", "淳于", "公冶", "宗政", "赫连", "司空", "鲜于", "闾丘", "太史", "万俟", "东方"),
]
# Given-name characters (common in names given since the 1950s), chosen for this file.
GIVEN = list(
    "国建军民华明英兰秀玉珍芬桂凤红梅丽娟敏静霞燕艳萍平伟强勇刚杰涛斌波辉磊鹏飞超亮宇浩然博文轩"
    "晨阳昊睿泽铭俊凯航远志宏毅坤峰岩松柏林森海涵琪琳瑶婷雯倩颖欣怡悦佳嘉馨蕊菲露晴雪晶莹璐婧妍"
    "彤诗梓子雨涵若汐依蔓芷沁芮翊珂钰瑜琦璇璟昕曦煜烨炜炳焕熙骁骏驰腾翔鸿鹤麟瀚澜沛潇泓淼清源润"
    "德仁义礼智信忠孝诚正安康乐福禄寿庆祥瑞吉宁静和顺达通荣耀光辉永长春秋冬雁蓉菊荷莲兰竹"
)
TITLES = ["医生", "主任", "护士", "经理", "大夫", "老师", "护士长", "主管", "行长", "律师", "会计"]

# Carriers: {v} is the name. No cue word from the recognizer's list stands right before it.
_VERB = [
    "请联系{v}确认明天的手术时间。",
    "通知{v}来取药，药房下午五点关门。",
    "把报告发给{v}，抄送科室。",
    "麻烦转告{v}，复诊改到周四。",
    "帮我查一下{v}上个月的还款记录。",
    "转账给{v}五千元，备注房租。",
    "今天上午已经电话提醒{v}空腹抽血。",
    "请尽快核实{v}提交的贷款材料。",
    "主任让我去看看{v}，说他今天不舒服。",
    "我们已经告知{v}检查结果，他同意手术。",
    "刚才见到{v}在三楼排队缴费。",
    "护士站在找{v}，请他回病房。",
    "柜台已退还{v}多收的手续费。",
    "请安排{v}明早八点做胃镜。",
    "这张单子需要{v}本人签字。",
    "系统里找不到{v}的预约记录。",
]
_START = [
    "{v}今天复诊，血压控制尚可。",
    "{v}昨天下午来办理了挂失。",
    "{v}刚刚打电话说要改预约。",
    "{v}上周做了胆囊切除术，恢复良好。",
    "{v}已经出院，带药两周。",
    "{v}目前在重症监护室观察。",
    "{v}下午三点到柜台办理销户。",
    "{v}明天上午来取检查报告。",
    "{v}对青霉素过敏，请注意。",
    "{v}申请提高信用卡额度。",
    "{v}需要复查血常规和肝功能。",
    "{v}拒绝了输血，已签字。",
    "{v}一直咳嗽，夜间加重。",
    "{v}没有按时还款，已逾期三天。",
    "{v}希望把定期存款转成活期。",
    "{v}还在等医生会诊。",
]
_LIST = [
    "今天值班的是{v}、{w}和{x}。",
    "参加会诊的有{w}、{v}、{x}三位。",
    "本周需要回访的客户：{w}、{x}、{v}。",
    "{w}、{v}两位的化验单已经出来了。",
    "名单上还有{x}、{v}和{w}没有到。",
    "请把{w}、{v}的资料一起交到前台。",
]
_DE = [
    "请把{v}的病历调出来。",
    "核对一下{v}的身份证复印件。",
    "已经冻结了{v}的银行卡。",
    "明天上午是{v}的手术。",
    "这是{v}的出院小结，请签收。",
    "我刚看了{v}的心电图，没有异常。",
    "柜员误把{v}的存款转到了别的账户。",
    "主任要求今天完成{v}的术前评估。",
]
_QUOTE = [
    "备注写着“{v}”，但没有电话。",
    "签名栏只写了“{v}”两个字。",
    "来电的人自称「{v}」，要求查询余额。",
    "床头卡上写的是『{v}』，需要更正。",
    "收款方显示为\u201c{v}\u201d，请确认是否本人。",
    "登记表上的名字是'{v}'。",
]
_PREP = [
    "这个病人由{v}负责，有问题找他。",
    "下午和{v}一起去药房领药。",
    "已与{v}核对过账户信息。",
    "你跟{v}说一声，明天不用空腹。",
    "给{v}打个电话，提醒他还款。",
    "让{v}先去一楼缴费再来。",
    "叫{v}到护士站量血压。",
    "请{v}到三号诊室候诊。",
    "这笔贷款由{v}担保。",
    "出院手续交给{v}办理。",
    "被{v}拒绝后，他又来了一次。",
    "替{v}预约了下周的复查。",
]
_TITLE = [
    "{v}{t}今天休息，门诊停诊。",
    "请找{v}{t}签字。",
    "已经和{v}{t}沟通过了。",
    "下午{v}{t}会来查房。",
    "这份材料需要{v}{t}审批。",
    "刚才{v}{t}打来电话。",
]
# A surname alone before a title: 王医生, 李主任 (the value is the surname).
_SURNAME_TITLE = [
    "{v}{t}今天休息，请改天再来。",
    "请找{v}{t}签字。",
    "刚才{v}{t}来过电话。",
    "已经跟{v}{t}说过了，下午复查。",
    "这件事要问{v}{t}。",
    "明天由{v}{t}值班。",
]
_TEMPLATES = {
    "zh_nc_verb": _VERB,
    "zh_nc_start": _START,
    "zh_nc_list": _LIST,
    "zh_nc_de": _DE,
    "zh_nc_quote": _QUOTE,
    "zh_nc_prep": _PREP,
    "zh_nc_title": _TITLE,
}
CLASSES = [*_TEMPLATES, "zh_nc_compound", "zh_nc_surname_title"]


def _name(rng: random.Random, compound: bool = False) -> str:
    surname = rng.choice(COMPOUNDS) if compound else rng.choice(SINGLES)
    count = rng.choice([1, 2, 2]) if not compound else rng.choice([1, 1, 2])
    return surname + "".join(rng.choice(GIVEN) for _ in range(count))


def _fill(rng: random.Random, template: str, value: str) -> Case:
    text = template.replace("{w}", _name(rng)).replace("{x}", _name(rng)).replace("{t}", rng.choice(TITLES))
    before, after = text.split("{v}")
    return Case("", "zh", before + value + after, len(before), len(before) + len(value), "PERSON")


def generate(per_class: int = 100, seed: int = 7) -> list[Case]:
    """``per_class`` sentences per class; compound surnames appear in every position."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for cls in CLASSES:
        for _ in range(per_class):
            if cls == "zh_nc_surname_title":
                case = _fill(rng, rng.choice(_SURNAME_TITLE), rng.choice(SINGLES + COMPOUNDS[:8]))
                cases.append(Case(cls, case.lang, case.text, case.start, case.end, case.entity_type))
                continue
            compound = cls == "zh_nc_compound"
            templates = _TEMPLATES[rng.choice(list(_TEMPLATES))] if compound else _TEMPLATES[cls]
            case = _fill(rng, rng.choice(templates), _name(rng, compound))
            cases.append(Case(cls, case.lang, case.text, case.start, case.end, case.entity_type))
    return cases


# ---------------------------------------------------------------- negatives

# Words that begin with a surname character, by what they are.
_ORGS = (
    "平安银行 华夏银行 江苏银行 宁波银行 农业银行 常熟农商行 温州银行 康复科 麻醉科 管床医生 常规门诊 "
    "全科门诊 高血压门诊 白内障中心 房颤中心 钟点工 司机 顾问 药房 财务科 宫颈科 "
    "关节外科 金融部 应急办 商户 师傅 车队 路政 华为客服 尤其是家属 "
    "简易门诊 宁养院 卫生院 骨科 明珠分行 和平分理处 石化公司 项目组"
).split()
# Clinical and banking nouns that a sentence can check, review or confirm.
_TERMS = (
    "高血压 高血脂 高血糖 黄疸 白细胞 白蛋白 石膏 张力 房颤 甘油三酯 谷丙转氨酶 谷草转氨酶 常规 周期 方案 "
    "程序 时间 安排 余额 金额 费用 付款 成本 路径 关节 左侧 全血 钟点 季度 利息 申请 项目 温度 康复 文件 "
    "单位 纪录 曲线 管理 宫颈 席位 卫生 全部 边缘 查房 麻醉 黄体酮 白带 骨密度 肌张力 甲胎蛋白 应急预案 "
    "华法林 曲马多 石膏托 车费 路费 包装 安全 成分 景区门票 汇率 和解协议 时间表 常住人口 明细"
).split()
# Words of any kind, quoted.
_WORDS = (
    "华丽 荣幸 简单 严重 齐全 辛苦 舒适 冷静 和平 吉利 卓越 尤其 马上 何时 谢谢 万一 童年 毕业 游泳 "
    "蓝色 牛奶 庞大 颜色 章节 岳父 耿直 兰花 祝贺 宁可 尚未 符合 凌晨 盛情 骆驼 路口 柴油 蒙古 鲍鱼 "
    "蒲公英 屈服 解释 艾灸 阳性 时候 农村 古代 车辆 芦荟 麦片 党员 冷敷 米饭 桂圆 应该 师傅 商场 沙发 "
    "桑拿 甄别 仲裁 巩固 明天 池塘 迟到 于是 钱包 易感 焦虑 涂抹 成功 申请 常规 白天 周末 方便"
).split()
_DISEASES = (
    "高血压 糖尿病 冠心病 房颤 黄疸 白内障 宫颈炎 关节炎 梅毒 甲亢 痛风 胆结石 肾结石 贫血 哮喘".split()
)
_HERBS = (
    "黄芪 党参 白芍 柴胡 连翘 杜仲 桑叶 麻黄 陈皮 丁香 甘草 葛根 蒲公英 艾叶 龙骨 牛黄 金银花 当归".split()
)
_DRUGS = "华法林 曲马多 沙丁胺醇 甘露醇 左氧氟沙星 雷尼替丁 孟鲁司特 艾司唑仑 阿司匹林 二甲双胍".split()
_PLACES = (
    "王府井 常州 徐州 温州 苏州 金华 武汉 郑州 石家庄 成都 沈阳 兰州 柳州 桂林 岳阳 邵阳 秦皇岛 唐山 张家口 "
    "吉林 齐齐哈尔 黄山 马鞍山 安庆 江西 安徽 甘肃 宁夏 江苏 西宁 太原 呼和浩特 上海 南京 东方明珠"
).split()
_ROLES = (
    "全科医生 康复科医生 麻醉医生 主管医生 主任医师 管床医生 值班医生 主治医生 住院医生 客户经理 理财经理 "
    "大堂经理 项目经理 值班护士 责任护士 主管护士 专科护士 科室主任 病区主任 支行行长 带教老师 代理律师 "
    "主管会计 家属 司机 师傅 护工 保安 柜员"
).split()
_NEG = [
    ("请联系{o}确认明天的时间。", "o"),
    ("通知{o}来取报告。", "o"),
    ("把报告发给{o}，抄送科室。", "o"),
    ("麻烦转告{o}，明天不用来。", "o"),
    ("帮我查一下{t}的结果。", "t"),
    ("转账给{o}五千元，备注押金。", "o"),
    ("请尽快核实{t}是否正确。", "t"),
    ("今天上午已经提醒{r}注意{t}。", "rt"),
    ("{t}今天复查，结果正常。", "t"),
    ("{t}已经确认，下周开始。", "t"),
    ("{d}昨天加重了，夜间明显。", "d"),
    ("{o}昨天下午来电说系统升级。", "o"),
    ("{p}今天下雨，分行提前关门。", "p"),
    ("{r}刚刚打电话说要改时间。", "r"),
    ("{t}需要复查，{d}控制尚可。", "td"),
    ("既往有{d}、{e}和{f}。", "def"),
    ("中药处方：{h}、{i}、{j}各十克。", "hij"),
    ("分行设在{p}、{q}和{s}。", "pqs"),
    ("正在服用{g}、{k}。", "gk"),
    ("{t}的数值偏高，建议复查。", "t"),
    ("{p}的门店周末照常营业。", "p"),
    ("{o}的客服电话打不通。", "o"),
    ("请把{d}的随访表调出来。", "d"),
    ("诊断写的是“{d}”。", "d"),
    ("备注栏写着“{w}”，没有其他内容。", "w"),
    ("收款方显示为“{o}”，请确认。", "o"),
    ("这个病区由{r}负责。", "r"),
    ("下午和{r}一起去药房领{g}。", "rg"),
    ("已与{o}核对过{t}。", "ot"),
    ("你跟{r}说一声，明天查{t}。", "rt"),
    ("给{o}打个电话，问一下{t}。", "ot"),
    ("让{r}先去一楼缴费。", "r"),
    ("叫{r}到护士站来。", "r"),
    ("请{o}会诊，考虑{d}。", "od"),
    ("这笔贷款由{o}担保。", "o"),
    ("{r}今天休息，门诊停诊。", "r"),
    ("请找{r}签字，再去{p}分行。", "rp"),
    ("下午{r}会来查房，讨论{t}。", "rt"),
    ("他说“{w}”就走了。", "w"),
    ("{w}，{r}说。", "wr"),
    ("{g}的剂量已经调整，{t}稳定。", "gt"),
    ("去{p}出差期间暂停{t}。", "pt"),
]
_SLOTS = {
    "o": _ORGS, "t": _TERMS, "w": _WORDS, "d": _DISEASES, "e": _DISEASES, "f": _DISEASES, "h": _HERBS,
    "i": _HERBS, "j": _HERBS, "g": _DRUGS, "k": _DRUGS, "p": _PLACES, "q": _PLACES, "s": _PLACES, "r": _ROLES,
}  # fmt: skip


def negatives(count: int = 320, seed: int = 7) -> list[Negative]:
    """``count`` sentences with no personal data; every slot value must come out unchanged."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        template, slots = _NEG[index % len(_NEG)]
        values = {slot: rng.choice(_SLOTS[slot]) for slot in slots}
        text = template
        for slot, value in values.items():
            text = text.replace("{" + slot + "}", value)
        out.append(Negative("zh", text, tuple(values.values())))
    return out


def _person_findings(detector: object, texts: Sequence[str]) -> list[list[object]]:
    return [list(detector.detect(text)) for text in texts]  # type: ignore[attr-defined]


def main(seeds: Sequence[int]) -> None:
    """Recall per class and negatives flagged, for each seed."""
    import os

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy

    detector = PIIDetector(load_default_pii_policy(), cache_key=os.urandom(32))
    for seed in seeds:
        cases = generate(seed=seed)
        findings = _person_findings(detector, [c.text for c in cases])
        request, answer = recall_table(cases, findings, 0.5), recall_table(cases, findings, 0.3)  # type: ignore[arg-type]
        print(f"seed {seed}: {'class':<22}{'request (>=0.5)':>17}{'answer (>=0.3)':>16}")
        for key in sorted(request):
            (hit, total), (ahit, _) = request[key], answer[key]
            print(f"        {key[0]:<22}{hit:>6}/{total:<4}{hit / total:>6.3f}{ahit / total:>15.3f}")
        negs = negatives(seed=seed)
        neg_found = _person_findings(detector, [n.text for n in negs])
        for threshold in (0.5, 0.3):
            flagged = [
                n.text
                for n, found in zip(negs, neg_found, strict=True)
                if any(f.entity_type == "PERSON" and f.score >= threshold for f in found)  # type: ignore[attr-defined]
            ]
            print(f"        negatives with a PERSON at {threshold}: {len(flagged)}/{len(negs)}")
            if "-v" in sys.argv:
                for text in flagged:
                    print("          ", text)
        if "-v" in sys.argv:
            for case, found in zip(cases, findings, strict=True):
                if not is_found(case, found, 0.5):  # type: ignore[arg-type]
                    print("   miss", case.cls, case.text, case.value)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:] if a.isdigit()] or [7])
