"""The character classes of Chinese person names: surnames, and characters that do or do not
occur in given names. Shared by the name recognizers in characters and with a middle dot."""

from __future__ import annotations

import re

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

SINGLE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑"
    "景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
    # Rarer ones from the Hundred Family Surnames (百家姓) and later lists.
    "阎萧濮蔺晁谌揭厉阚邰郦钮奚酆禹狄茅嵇荀芮邴糜宓郗钭戎韶郜蓟鄂胥莘逄雍璩扈冀郏茹宦庾暨弘匡殳蔚夔厍勾訾"
    "乜鞠蒯荆竺逯桓晋粟谯冼廉"
    # Frequent in the south and south-west today (赖 is among the hundred most common).
    "赖卿鄢"
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
    # Rarer compound surnames of the 百家姓 that are no ordinary words.
    "宗政",
    "司空",
    "赫连",
    "闾丘",
    "淳于",
    "鲜于",
    "公冶",
    "濮阳",
    "拓跋",
)
SURNAME_ALT = "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SINGLE_SURNAMES)) + "]"
# Characters that do not occur in given names but often follow a name in running text.
NOT_GIVEN = set(
    "的是在于了和与及等说来去到住出男女岁年月日也都就被把给对向从自为身电手邮地证卡号护联主血服口今昨明因患已"
    "先医生士姐哥叔姨总经理老师同志教授主任护院科室病床查复诊诉称请让叫要想会能可将再又还并而但或吗呢吧啊哦"
    "现居曾原该此其每各某这那一二三四五六七八九十个位名次人"
)
# Characters that (almost) never occur in a given name: clinical, banking and place words,
# particles. A candidate with one of them is a word that begins with a surname character
# (康复科, 麻醉, 顾客, 王府井, 查体), not a name.
NEVER_GIVEN = frozenset(
    "病症炎癌瘤痛疼痒肿疸疹痰脓血压糖脂尿便酶肝肾肺胃肠脑骨髓膜腺颤醉痹栓梗塞衰竭药针剂片丸膏醇胺酮唑酸酯碱苷"
    "霉钾钠钙镁锌氯氧氮碳硫磷术科室院诊检复体客府井址局所站店厂费款税账额债贷券卡号码票据表性率度量值数次型类"
    "级期们么吗呢吧啊哦呀嘛了着过的地得之乎者也这那哪谁什怎个些每各某其此该您你我他她它咱街路区县市省镇村巷弄楼栋层"
    "乙丙"
)
# Particles and verbs that end a name that has a space inside it (张 伟说, 王 芳的).
FUNCTION_CHARS = frozenset("的是在了和与及说来去到也都就被把给对向从自为已因")
