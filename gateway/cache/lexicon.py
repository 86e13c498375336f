"""Word lists for the semantic-cache guard: function words, polarity axes, numerals.

Kept apart from the guard's logic so the lists can grow without touching the rules, and
so it is plain which words the guard treats as meaning-bearing. The lists are generic
(everyday English and Chinese), not tuned to any one domain: a term missing here only
means the guard leaves that difference to the similarity threshold.
"""

from __future__ import annotations

import re

# English words that carry no identity of their own. Deictic and scope words (this,
# next, last, every, all, whole, only...) are deliberately absent: "this term" and
# "next term" are different questions.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "so",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "about",
        "as",
        "into",
        "onto",
        "upon",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "i",
        "me",
        "my",
        "mine",
        "we",
        "us",
        "our",
        "ours",
        "you",
        "your",
        "yours",
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "it",
        "its",
        "they",
        "them",
        "their",
        "theirs",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "why",
        "how",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "need",
        "needs",
        "please",
        "pls",
        "kindly",
        "just",
        "also",
        "too",
        "very",
        "really",
        # hedges and framing that leave the question as it was ("what does it actually
        # mean" / "...mean exactly", "steps to apply" / "how do I apply")
        "actually",
        "exactly",
        "basically",
        "usually",
        "typically",
        "generally",
        "normally",
        "constantly",
        "anyway",
        "hey",
        "steps",
        "way",
        "ways",
        "quite",
        "still",
        "even",
        "ever",
        "there",
        "here",
        "than",
        "that's",
        "what's",
        "it's",
        "i'm",
        "i'd",
        "i've",
        "i'll",
        "you're",
        "don't",
        "doesn't",
        "get",
        "got",
        "give",
        "tell",
        "show",
        "let",
        "know",
        "want",
        "like",
        "wish",
        "help",
        "find",
        "see",
        "look",
        "s",
        "t",
        "d",
        "ll",
        "ve",
        "re",
        "m",
    ]
)

# Negation words; their count must agree between a query and the cached prompt.
NEGATIONS_EN = frozenset(
    [
        "not",
        "no",
        "never",
        "without",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "cannot",
        "cant",
        "nowhere",
        # contractions typed without their apostrophe ("spotify wont play", "didnt rise")
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "wont",
        "wouldnt",
        "couldnt",
        "shouldnt",
        "hasnt",
        "havent",
        "hadnt",
        "aint",
    ]
)
# "without losing my edits" = "keeping my edits": a negated loss is not a negation.
LOSS_VERBS_EN = frozenset(
    ["los", "lose", "delet", "delete", "eras", "erase", "wip", "wipe", "ruin", "damag",
     "damage", "break"]
)  # fmt: skip
# Words that open a qualifier narrowing a question: "best shampoo" / "best shampoo for
# curly hair", "tips for better sleep" / "... when working night shifts".
QUALIFIERS_EN = frozenset(
    ["for", "when", "while", "during", "if", "on", "in", "with", "without", "as", "after",
     "before", "at", "by", "under", "over", "from", "using", "via"]
)  # fmt: skip
# "won't stop running" = "keeps running", "never stops spinning": a negated stop is none.
CONTINUE_VERBS_EN = frozenset(["stop", "stops", "stopping", "quit", "quits"])
# "without paying", "at no cost", "without a penalty" say "for free", "penalty free": a
# price, not a negation (after "without" or "no"; a/an/any/extra may stand between).
COST_WORDS_EN = frozenset(
    ["paying", "pay", "charge", "charges", "fee", "fees", "cost", "costs", "penalty",
     "penalties", "penalized", "penalised", "charged", "visa"]
)  # fmt: skip
# "on an empty stomach" (without eating), "is empty" (has no ...): negations without a
# negation word.
EMPTY_AFTER_EN = frozenset(["is", "are", "was", "were", "be", "been", "an"])
NEGATION_CHARS_ZH = "不没无未别非勿莫"
# A negated modal, 有 or 在 contrasts with any positive wording of it (可以 / 不能, 有 / 没有,
# 试用期内 / 不在试用期内).
MODALS_ZH = "能可会要用行准许让给是需必该应得肯敢有在"
# 不同 is "different" (不同的颜色), but a negation of 同意, 同行, 同住, 同去, 同步 (爸爸不同行的话).
DIFFERENT_ZH = re.compile(r"不同(?![意行住去步])")
# Compounds in which those characters do not negate the sentence.
NOT_NEGATION_ZH = (
    "非常",
    "无线",
    "无论",
    "别人",
    "别的",
    "区别",
    "未来",
    "不过",
    "不管",
    "不少",
    "不久",
    "不断",
    "不仅",
    "除非",
    "并非",
    "无人机",
    "特别",
    "分别",
    "类别",
    "级别",
    "差别",
    "性别",
    "识别",
    "辨别",
    "鉴别",
    "告别",
    "个别",
    # States named with a negation character: lost, flat battery, short of, forgot.
    "不见了",
    "没电",
    "不足",
    "记不起",
    "记不住",
    "想不起",
    "无理由",  # 七天无理由退货: a kind of return
    "没了",  # 12分全没了: gone
    "得不行",  # 卡得不行: extremely
    # Names that hold one: amoxicillin, Moscow, Africa.
    "阿莫西林",
    "莫斯科",
    "非洲",
    "南非",
)

# Polarity axes: a request that says one pole must not be answered with an answer for
# the other ("enable" / "disable 2FA", 打开 / 关闭). Each word maps to (axis, pole).
_AXES_EN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "power": (
        ("enable", "activate", "unmute", "turn_on", "switch_on", "power_on"),
        ("disable", "deactivate", "mute", "turn_off", "switch_off", "power_off"),
    ),
    "membership": (
        ("add", "include", "insert", "attach", "join", "subscribe", "enroll", "register"),
        (
            "remove",
            "delete",
            "exclude",
            "detach",
            "leave",
            "unsubscribe",
            "unenroll",
            "deregister",
            "drop",
        ),
    ),
    "permission": (
        ("allow", "permit", "accept", "approve", "grant", "unblock", "authorize", "authorise"),
        ("block", "deny", "reject", "decline", "forbid", "prevent", "ban", "refuse", "revoke"),
    ),
    "lock": (("lock", "freeze"), ("unlock", "unfreeze")),
    "grip": (("tighten", "tight", "tighter"), ("loosen", "loose", "looser")),
    "thickness": (("thicken", "thick", "thicker"), ("thin", "thinner")),
    "open": (("open",), ("close", "shut")),
    "storey": (("upstairs", "ceiling"), ("downstairs", "floor")),  # a neighbour's noise
    "run": (
        ("start", "begin", "resume", "continue", "reactivate", "unpause"),
        ("stop", "end", "pause", "halt", "suspend", "quit", "exit"),
    ),
    "amount": (
        (
            "increase",
            "raise",
            "upgrade",
            "extend",
            "higher",
            "more",
            "maximum",
            "max",
            "above",
            "over",
            "most",
            "longer",
            "bigger",
            "larger",
        ),
        (
            "decrease",
            "reduce",
            "lower",
            "downgrade",
            "shorten",
            "less",
            "fewer",
            "minimum",
            "min",
            "below",
            "under",
            "least",
            "shorter",
            "smaller",
        ),
    ),
    "trade": (("buy", "purchase"), ("sell",)),
    "cash": (("deposit", "top_up"), ("withdraw", "withdrawal")),
    "transfer": (("send", "upload", "export"), ("receive", "download", "import")),
    "link": (("connect", "pair", "link"), ("disconnect", "unpair", "unlink")),
    "install": (("install",), ("uninstall",)),
    "visibility": (("show", "display", "unhide"), ("hide",)),
    "time": (("before", "earlier", "prior", "early"), ("after", "later", "late")),
    "trip": (
        ("arrive", "arrival", "check_in", "checkin"),
        ("depart", "departure", "check_out", "checkout"),
    ),
    "temperature": (
        ("hot", "warm", "heat", "warmer", "heating"),
        ("cold", "cool", "cooler", "cooling"),
    ),
    "order": (("first", "earliest", "oldest"), ("last", "latest", "newest")),
    "session": (
        ("log_in", "sign_in", "login", "signin", "opt_in"),
        ("log_out", "sign_out", "logout", "signout", "opt_out"),
    ),
    "visibility_scope": (("public",), ("private",)),
    "money_flow": (("credit", "income"), ("debit", "expense")),
    "with": (("with", "including"), ("without", "excluding")),
    # What speaks for a thing and what against it: "health benefits of oolong tea" /
    # "side effects of drinking oolong tea" (two words joined: ``agreement._polarity``).
    "merit": (
        ("benefit", "benefits", "advantage", "advantages", "pros", "upside", "upsides", "perks"),
        (
            "risk",
            "risks",
            "disadvantage",
            "disadvantages",
            "cons",
            "downside",
            "downsides",
            "drawback",
            "drawbacks",
            "danger",
            "dangers",
            "side_effect",
            "side_effects",
        ),
    ),
}
POLARITY_EN: dict[str, tuple[str, int]] = {
    word: (axis, pole)
    for axis, poles in _AXES_EN.items()
    for pole, words in enumerate(poles)
    for word in words
}
# Verbs whose particle carries the polarity: "turn on" → turn_on.
PARTICLE_VERBS = frozenset(["turn", "switch", "power", "log", "sign", "opt", "check", "top"])
PARTICLES = {"on": "on", "off": "off", "in": "in", "into": "in", "out": "out", "up": "up"}
# Quantifiers set the scope of a request ("cancel one of" / "all of my orders").
# Compared as classes: "all running containers" = "every running container", "valid
# only in the US" ≠ "valid worldwide".
QUANTIFIERS = {
    **dict.fromkeys(("all", "every", "each", "whole", "entire"), "all"),
    **dict.fromkeys(("worldwide", "everywhere", "globally"), "all"),
    "both": "both",
    "only": "only",
    "several": "several",
}
# The time an English question is about ("this weekend", "today"); two questions that
# both name one must name the same (Chinese: ``DEIXIS_ZH`` in the scope rule).
TIME_FRAME_EN = re.compile(
    r"\b(?:today|tonight|tomorrow|yesterday|(?:this|next|last|coming)\s+(?:week|weekend|"
    r"month|year|morning|afternoon|evening|night|season|quarter|semester|term|summer|"
    r"winter|spring|fall|autumn|monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    re.IGNORECASE,
)
# Chinese words that say how much of something is meant: all of it, only some, just
# one. Said on one side only ("所有房间的灯" / "客厅的灯", "只退一件" / "整套退货"), they
# change the answer. 只 as a classifier (一只) or in 只要/只是/只有 is not one.
QUANTIFIERS_ZH = re.compile(
    r"所有|全部|整个|整套|全屋|全家|全员|全体|全国|各省|各地|各个|清空|单个|单条|某个|某一|仅"
    r"|(?<![一两二三四五六七八九十几每])只(?!要|是|有|不过|好)"
)
# 本学期 / 下学期, 这周 / 下周: a deictic prefix on a time unit names a different period.
DEIXIS_ZH = "这本上下今明昨去前后每"
TIME_UNITS_ZH = ("学期", "季度", "星期", "礼拜", "个月", "周", "月", "年", "天", "次", "期")

_AXES_ZH: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "power": (
        ("打开", "开启", "开通", "启用", "激活", "开灯", "开机", "开机"),
        ("关闭", "关掉", "关上", "停用", "禁用", "关灯", "关机", "注销", "销户"),
    ),
    "membership": (
        ("添加", "加入", "新增", "订阅", "绑定", "增加受益人", "加保", "投保", "参保", "拉黑"),
        (
            "删除",
            "移除",
            "移出",
            "拉出",
            "去掉",
            "退出",
            "退订",
            "解绑",
            "取消订阅",
            "退保",
            "退掉",
        ),
    ),
    "permission": (
        ("允许", "批准", "同意", "接受", "放行", "通过"),
        ("拒绝", "驳回", "禁止", "阻止", "拦截", "屏蔽"),
    ),
    "lock": (("锁定", "锁上", "冻结", "上锁"), ("解锁", "解冻", "解除锁定")),
    "run": (
        ("开始", "继续", "恢复", "启动", "复机", "开通回来"),
        ("停止", "暂停", "结束", "终止", "中止", "停机"),
    ),
    "amount": (
        (
            "提高",
            "增加",
            "上调",
            "升级",
            "调高",
            "延长",
            "以上",
            "最多",
            "最高",
            "更多",
            "多于",
            "超过",
            "加大",
            "多下",  # 让鸭子多下蛋 / 少下蛋
            "多吃",
            "多喝",
        ),
        (
            "降低",
            "减少",
            "下调",
            "降级",
            "调低",
            "缩短",
            "以下",
            "最少",
            "最低",
            "更少",
            "少于",
            "减小",
            "少下",
            "少吃",
            "少喝",
        ),
    ),
    "include": (("包含", "包括", "含"), ("不含", "不包含", "不包括")),
    "trade": (("买入", "购买", "买"), ("卖出", "出售", "卖")),
    "cash": (("存入", "充值", "存款"), ("取出", "提现", "取款")),
    "transfer": (("发送", "上传", "导出", "寄出"), ("接收", "下载", "导入", "收到")),
    "link": (("连接", "配对"), ("断开", "取消配对")),
    "install": (("安装", "加装"), ("卸载", "拆下", "拆掉", "拆除")),
    "visibility": (("显示",), ("隐藏",)),
    "time": (("之前", "以前", "提前", "开始前"), ("之后", "以后", "推迟", "延后", "结束后")),
    "trip": (("到达", "入住", "抵达"), ("出发", "离开", "退房")),
    "temperature": (("制热", "加热", "升温"), ("制冷", "降温")),
    "order": (("第一", "最早"), ("最后", "最晚", "最新")),
    "session": (("登录", "登入"), ("退出登录", "登出")),
    "visibility_scope": (("公开",), ("私密", "隐私")),
    "money_flow": (("收入", "入账"), ("支出", "出账")),
    "merit": (("优点", "好处", "优势", "益处"), ("缺点", "坏处", "副作用", "弊端", "劣势")),
}
# What a Chinese question asks about the thing it names: its price, when or how long
# (or at what age), what it needs, how much of it one may have, what it offers, what
# follows from it. Two questions on one procedure that ask for different aspects need
# different answers (办护照要花多少钱 / 护照怎么办理, 驾照换证要多久 / 驾照换证需要什么材料);
# "how" (怎么/如何/流程) is not an aspect: paraphrases swap it freely.
ASPECTS_ZH: dict[str, re.Pattern[str]] = {
    "price": re.compile(
        r"(?<![剩余转存取借贷])多少钱|费用|收费|扣费|计费|价格|花多少|交钱|贵不贵|要钱|手续费|服务费"
        r"|年费|费[^,。?!、剩余]{0,4}多少|(?<![剩余])多少[^,。?!、]{0,3}费|抽成|佣金|提成|(?:要|额外)付费|付费吗"
    ),
    "time": re.compile(
        r"多久|多长时间|几天|多少天|几个小时|多少小时|几分钟|多少分钟|什么时候|啥时候|何时|几点"
        r"|周期|有效期(?![满届到过已])|时长|多长|时间是?多少|哪天|哪一天|截止|几个星期|几周|几个月"
        r"|几年|多少年|多大|几岁|频率|几月份?|哪个月|时间表"
    ),
    # How often, not how long: 多久清洗一次 / 能用几年 ("time" gives way, ``agreement``;
    # but how often a thing is replaced is how long it lasts: ``REPLACING_ZH``).
    "frequency": re.compile(
        r"(?:多久|多长时间|几天|几周|几个月|几年|多少天)[^,。?!、\uff0c\uff1f\uff01]{0,6}[一1][次回]"
        r"|频率|(?<!回本)(?<!生长)周期|每隔|隔(?:多久|多长时间|几[天周个年])(?!才)"
    ),
    "needs": re.compile(
        r"(?:什么|哪些|啥)(?:材料|资料|证件|文件|手续|东西)|条件|需要什么|(?:准备|带)(?:什么|哪些|啥)"
    ),
    "amount": re.compile(
        r"能[^,。?!、]{0,3}多少|额度|上限|限额|限制|几个人|(?:额|率|比例)[^,。?!、]{0,4}多少"
        r"|怎么算|标准算|(?<!电脑)计算(?!机)|几次|多少次|几回|多少回|多少位|几位"
    ),
    "precautions": re.compile(r"要注意|注意事项|注意什么|注意哪些|留意"),
    "features": re.compile(
        r"(?:什么|哪些|啥)(?:功能|权益|好处|特权|作用|用处)|有什么用|有啥用|干什么用|用途"
        r"|用来干(?:什么|啥|嘛)|是干(?:什么|啥|嘛)的"
    ),
    "consequence": re.compile(
        r"会怎样|会怎么样|(?:什么|啥|哪些)(?:后果|影响|伤害|危害|损害)|副作用|不良反应"
    ),
    "symptoms": re.compile(r"症状|征兆|前兆|(?:什么|哪些|啥)表现"),
    "treatment": re.compile(
        r"(?:吃|用|打|抹|涂)(?:什么|哪些|啥|哪种)(?:药|药膏)|怎么治|如何治|治疗"
    ),
}
# Replacing a thing: 床垫多久换一次 asks how long a mattress lasts (床垫用几年需要更换).
REPLACING_ZH = re.compile(r"(?<![交兑转])换(?![算])")  # not 交换机, 兑换, 转换, 换算
# Poles that a word list cannot spell: who lends to whom (找亲戚借钱 / 借钱给亲戚).
POLARITY_PATTERNS_ZH: tuple[tuple[re.Pattern[str], str, int], ...] = (
    (re.compile(r"[向找跟问][^\uff0c\u3002\uff1f\uff01,.?!给]{1,4}借(?!给)"), "lend", 0),
    (re.compile(r"借[^\uff0c\u3002\uff1f\uff01,.?!]{0,3}给|借出|出借"), "lend", 1),
    # Paying more or less (学生贷款可以多还吗 / 可以少还吗): not the 少 of 多少 (要交多少钱).
    (re.compile(r"(?<![至最很太好许])多(?:还|交|缴|付|存|扣)(?!少)"), "amount", 0),
    (re.compile(r"(?<![多至最很太好不])少(?:还|交|缴|付|存|扣)"), "amount", 1),
    # Bringing back what was hidden: 隐藏的聊天怎么恢复 / 怎么隐藏聊天.
    (
        re.compile(
            r"隐藏[^\uff0c\u3002\uff1f\uff01,.?!]{0,8}(?:恢复|找回|取消隐藏)|恢复(?:显示|公开)"
        ),
        "visibility",
        0,
    ),
)

# Undoing an action: "解除挂失" is the opposite of "挂失", whatever the action is.
UNDO_ZH = ("解除", "撤销", "撤回", "取消", "解挂")
# A problem with the thing rather than how to do it: "安装失败怎么办" / "怎么安装".
PROBLEM_ZH = (
    *("失败", "报错", "出错", "故障", "异常", "错误", "不了", "无法"),
    *("打不开", "连不上", "坏了", "断网", "不能用", "被锁", "被封", "被盗"),
    *("被拒", "丢了", "丢失", "遗失", "弄丢", "不见了", "掉了", "没过", "没通过", "不通过"),
    *("不及格", "挂科", "开错", "转错", "输错", "乱码"),
)
# Names of things that hold a problem word: a warning light is not a fault (故障灯亮了).
NOT_PROBLEM_ZH = ("故障灯", "故障指示灯", "故障码")
# Longest first, so 不包含 wins over 包含 and 含.
POLARITY_ZH: tuple[tuple[str, str, int], ...] = tuple(
    sorted(
        (
            (word, axis, pole)
            for axis, poles in _AXES_ZH.items()
            for pole, words in enumerate(poles)
            for word in words
        ),
        key=lambda item: -len(item[0]),
    )
)

NUMBER_WORDS_EN: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "dozen": 12,
}
# Scale words count only after a number ("two hundred"); "thousands of files" is no value.
SCALE_WORDS = frozenset({"hundred", "thousand", "million", "billion", "dozen"})
# "one" as a pronoun ("the upstairs one", "which one", "one of") is not a number.
ONE_PRONOUN_BEFORE = frozenset(
    [
        "the",
        "this",
        "that",
        "which",
        "each",
        "any",
        "every",
        "no",
        "some",
        "another",
        "other",
        "new",
        "old",
        "upstairs",
        "downstairs",
        "same",
        "right",
        "wrong",
        "last",
        "first",
        "next",
    ]
)

ZH_DIGITS = {
    "零": 0,
    "\u3007": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
# Compounds where a numeral character is not a quantity ("一下" = "a bit").
ZH_NOT_NUMBER = (
    "一下",
    "一些",
    "一起",
    "一样",
    "一般",
    "一直",
    "一定",
    "一点",
    "一旦",
    "统一",
    "唯一",
    "万一",
    "一切",
    "一边",
    "一致",
    "一会",
    "一律",
    "一向",
    "一再",
    "千万",
    "十分",
    "一番",
    "一共",
    "一同",
    "一并",
    "之一",
    "一声",
    "一眼",
    "一趟",
    "一次性",
    "不一",
    "第一时间",
)

# CJK characters that frame a question rather than name its subject: dropped before the
# guard compares the subject characters of two Chinese questions.
STOP_CHARS_ZH = frozenset(
    "的了吗呢吧啊呀嘛么是在有和与及或把被给让请问我你您他她它们这那哪什怎如何为啥么"
    "能可以要想会该应吗个些下得地着过很都也还就才又再已经帮麻烦一下可否是否多少几请"
    "到从对将并且而但所以因为如果是不是呢吗啦哦嗯么样"
    "咋里之"  # how (colloquial), 哪里/这里 (where), 之前/之后 (the time words are compared apart)
)

# Particles and postpositions that move with a Chinese question's topic when it is put
# first or last (在Excel里冻结首行 / Excel怎么冻结首行): ignored when comparing the order.
LIGHT_CHARS_ZH = frozenset("了吗呢吧啊呀嘛在给把里上中")

# Characters that give a Chinese question's word order a meaning (from, turn into, to,
# than, first): a stretch moved across them may be a direction the guard did not know
# (从冲浪转玩桨板冲浪 / 从桨板冲浪转玩冲浪), so such texts are left to the verifier.
ORDER_CHARS_ZH = frozenset("从由转到至换改迁比先→")
# Characters that mark who does what to whom (give to, toward, by, for): the same
# characters reordered around them may have traded roles (跟, "with", is a coordinator).
ROLE_CHARS_ZH = frozenset("给向对被替")

# A clause that asks for help rather than saying the asker's situation (有没有人知道, …).
HELP_CALLS_ZH = re.compile(
    r"有没有人知道|有人知道吗?|谁知道|各位|大家好?|求问|求助|请问|想问|问一下|急|在线等|谢谢"
)

# The exchange rule: two items with one of these between them may trade places ("TCP
# and UDP", 猫和狗, 爬山还是去看海); and in a question with one of the symmetric words
# (units are stemmed, CJK text is matched as is), anything may trade places.
COORDINATORS_EN = frozenset({"and", "or", "nor", "&", "/", "plus"})
COORDINATORS_ZH = ("和", "与", "跟", "同", "或", "及", "还是", "、")
ARTICLES_EN = frozenset({"the", "a", "an"})
SYMMETRIC_EN = ("differ", "compar", "similar")
SYMMETRIC_ZH = ("区别", "差别", "不同", "异同", "对比", "比较", "相比")

# Direction markers: the words after them are a destination (to) or a source (from).
# Asymmetric comparisons read the same way: "X better than Y" ≠ "Y better than X".
DIRECTION_TO_EN = frozenset(
    {"to", "into", "towards", "toward", "→", "->", "onto", "than", "against", "vs", "versus"}
)
DIRECTION_FROM_EN = frozenset({"from"})
COMPARISONS_EN = frozenset({"than", "against", "vs", "versus"})
DIRECTION_TO_ZH = (
    "改到",
    "改成",
    "换成",
    "转成",
    "转到",
    "复制到",
    "移到",
    "飞往",
    "前往",
    "兑换成",
    "兑换",
    "兑",  # 美元兑人民币: the rate of the first in the second
    "换",
    "到",
    "至",
    "往",
    "去",
    "比",
    "对",
    "→",
)
DIRECTION_FROM_ZH = ("从", "由", "把", "将")
# Words whose final "s" is no plural: the secure variant of a protocol is another
# protocol ("redirect http to https" / "https to http" must not both read "http").
NOT_PLURAL_EN = frozenset({"https", "ftps", "sftps", "imaps", "smtps", "ldaps", "nntps", "pop3s"})

# Order-aware roles of conversions and movements (guard.conversion_roles). A clause takes
# part when it has one of these verbs (by prefix), "from", an arrow or "into"; its last
# forward marker splits it into the source side and the destination side.
ORDER_TO_EN = frozenset({"to", "into", "onto", "towards", "toward", "→", "->", "=>"})
MOVEMENT_PREFIXES_EN = (
    "convert", "conver", "turn", "chang", "switch", "migrat", "mov", "transfer", "redirect",
    "translat", "export", "import", "port", "cast", "pars", "serializ", "deserializ",
    "encod", "decod", "transcod", "transpil", "compil", "upgrad", "downgrad", "sync",
    "copy", "copi", "send", "forward", "rout", "ship", "fly", "flight", "travel", "drive",
    "exchang", "swap", "map", "resiz", "render", "rewrit", "format", "casting", "reroute",
)  # fmt: skip
# "to" after these is an infinitive ("how to", "able to", "used to store"), not a marker.
_INFINITIVE_BEFORE = (
    "how way want wants wanted need needs needed used able going have has had ought try "
    "tries trying tend allowed possible easy easier easiest hard order like wish plan start "
    "begin continue decide learn help intended designed meant supposed enough time best "
    "where what when whether ready eager likely expected required necessary important "
    "is are was were be been tool script command option setting here "
    "cheap cheaper cheapest fast faster quick quicker safe safer simple simpler good "
    "better worse difficult harder expensive worth"
)
INFINITIVE_BEFORE_EN = frozenset(_INFINITIVE_BEFORE.split())
# A phrase these open after a source or a destination modifies the move, not its ends:
# "turn a list into a set in Python", "move files to a folder on my Mac".
MODIFIERS_EN = frozenset(["in", "on", "using", "with", "via", "inside", "within"])
# "How is APR different from APY?": "from" after these compares, it does not move.
DIFFERENT_EN = frozenset(["different", "differ", "differs", "differently", "distinct", "apart"])
# "to" before these is an infinitive too ("the minimum age to rent", "a transfer to
# arrive", "allow dogs to fly"): verbs that do not name a place, format or currency.
_INFINITIVE_VERBS = (
    "be have do get make take go see buy pay use find know learn stop cancel apply book "
    "bring leave wait arrive rent fly keep visit drive eat drink sell start open close "
    "fix install remove add change check renew reset cook clean wash avoid load run "
    "become feel give put say tell ask call pick choose register sign claim travel "
    "stay study ride hire borrow lend earn spend receive qualify create connect read "
    "write watch play meet talk speak reach catch follow protect prevent treat lose "
    "expect wear recover heal grow let select generate"
)
INFINITIVE_VERBS_EN = frozenset(_INFINITIVE_VERBS.split())
ORDER_TO_ZH = (
    "转换为", "转换成", "转化为", "转化成", "转成", "转为", "转到", "转移到", "迁移到",
    "迁移至", "迁到", "跳转到", "跳转至", "重定向到", "导入到", "导入", "导出到", "导出为",
    "换算成", "换算为", "化成", "化为", "折算成", "折算为", "翻译成", "翻译为", "译成", "改成",
    "改为", "改到", "变成", "换成",
    "切换到", "切换成", "切换为", "同步到", "复制到", "拷贝到", "移到", "移动到", "搬到",
    "发到", "寄到", "转账到", "转入", "兑换成", "升级到", "降级到", "转码为", "转码成",
    "编码为", "编码成", "解码为", "解码成", "另存为", "保存为", "导出成", "输出为", "输出成",
    "压缩为", "压缩成", "映射到", "映射为", "→", "到", "至",
    "迁移回", "迁回", "转回", "切回", "改回", "导回", "同步回", "复制回",  # back to
)  # fmt: skip
ORDER_FROM_ZH = ("从", "由")
# 到 after these characters is part of a verb ("收到", "找到"), not a destination.
NOT_DIRECTION_BEFORE_TO_ZH = frozenset("收找看得遇做想听感达迟报用受拿碰提说")

# Question words that ask for a different kind of answer: "Where is X?" / "Who is X?".
# ("what", "how" and "which" are interchangeable in paraphrases and are not compared.)
QUESTION_KINDS_EN = {
    "who": "person",
    "whom": "person",
    "where": "place",
    "when": "time",
    "why": "reason",
}
# The words after "what" that make it ask a time, place or reason ("what age" / "when").
WHAT_KINDS_EN = {
    **dict.fromkeys([
        "time", "times", "day", "days", "date", "dates", "year", "years", "month", "months",
        "week", "weeks", "age", "ages", "hour", "hours", "season", "point", "stage", "deadline",
    ], "time"),
    **dict.fromkeys([
        "place", "places", "country", "countries", "city", "cities", "town", "store", "stores",
        "shop", "shops", "website", "websites", "site", "address", "location",
    ], "place"),
}  # fmt: skip
# Words after "what" that make it ask why: "what could be causing it", "what's wrong".
WHAT_REASON_EN = frozenset([
    "cause", "causes", "caused", "causing", "reason", "reasons", "makes", "made", "wrong",
    "behind", "explain", "explains", "led",
])  # fmt: skip
WHAT_MEANING_EN = frozenset(["mean", "means", "meaning", "stand", "stands"])
# The English wh-words: a pair that differs in one of them is a rewording even if no
# other content word changed ("How can I meet you" / "Where can I meet you").
WH_WORDS_EN = frozenset(["how", "what", "when", "where", "why", "who", "whom", "whose", "which"])
# A Chinese yes-no question (吗, A不A, 是否) and a wh-question (怎么, 什么, 哪, 多少...)
# on one topic ask different things: "感冒吃什么药" / "感冒会传染吗".
WH_ZH = re.compile(r"怎么|怎样|如何|咋|什么|啥|哪|多少|几|谁|何时|为什么|为何|多久|多长")
# What a thing is or how it works (请简述什么是停用时间, 广告拦截扩展是怎么工作的) against how to
# do something with it (停用时间怎么设置, 广告拦截扩展怎么安装): two questions, not a rewording.
# "流程是什么", "用法是什么", "规则是啥" ask for a procedure or rules in another shape,
# "是什么原因" for a cause, "是什么时候" for a time: none of them asks what the thing is.
DEFINITION_ZH = re.compile(
    r"什么是|(?<!流程)(?<!步骤)(?<!方法)(?<!办法)(?<!方式)(?<!手续)(?<!条件)(?<!原因)(?<!区别)"
    r"(?<!命令)(?<!用法)(?<!规则)(?<!要求)是(?:什么|啥)(?!原因|时候)|什么叫|指的是|含义|意思|原理|"
    r"(?:怎么|如何)(?:工作|运作)|的作用"
)
PROCEDURE_ZH = re.compile(
    r"(?:怎么|如何|怎样|咋)(?:才能)?(?:设置|安装|开启|关闭|打开|使用|用|操作|配置|办理|申请|下载|注册|"
    r"取消|删除|添加|开通|绑定|解绑|激活|卸载|更新|升级)"
)
# (The guard reads NFKC text: full-width question and exclamation marks arrive as ASCII.)
YES_NO_ZH = re.compile(r"([\u4e00-\u9fff])[不没]\1|是否|能否|可否|吗[?!。.\s]*$")
QUESTION_KINDS_ZH = (
    ("为什么", "reason"),
    ("为何", "reason"),
    ("为啥", "reason"),  # 滑板车乱停为啥会被罚款 / 租的滑板车应该停在哪里
    ("什么时候", "time"),
    ("何时", "time"),
    ("几点", "time"),
    ("周几", "time"),  # 工时表每周几之前要交 / 工时表一般谁来审批
    ("星期几", "time"),
    ("礼拜几", "time"),
    ("几号", "time"),
    ("哪天", "time"),
    ("哪一天", "time"),
    ("哪里", "place"),
    ("哪儿", "place"),
    ("在哪", "place"),
    ("谁", "person"),
    # which stage is a time; what to say, bring or wear a thing ("what" against "when")
    ("哪个环节", "time"),
    ("什么环节", "time"),
    ("哪个阶段", "time"),
    ("什么阶段", "time"),
    ("说些什么", "thing"),
    ("说什么", "thing"),
    ("带什么", "thing"),
    ("穿什么", "thing"),
    ("写什么", "thing"),
    ("送什么", "thing"),
    ("准备什么", "thing"),
)

# What a question about a problem wants: its cause or its remedy. "What causes knee
# pain after running" and "how to treat knee pain after running", 猫咪呕吐是什么原因 and
# 猫咪呕吐了怎么处理, share every subject word and want different answers; a question
# that asks both ("...是啥原因咋解决") agrees with either. 怎么办理 (how to apply) is
# not a remedy.
FOCUS: dict[str, re.Pattern[str]] = {
    "cause": re.compile(
        r"\bwhy\b|\bcaus(?:e|es|ed|ing)\b|\breasons?\b|\bhow come\b"
        r"|原因|为什么|为何|为啥|怎么回事|咋回事|什么(?:引起|导致|造成)"
    ),
    "remedy": re.compile(
        r"\b(?:fix|fixes|fixing|treat|treats|treating|treated|treatments?|cure|remed(?:y|ies)"
        r"|get rid of|prevent|resolve|solve|repair|troubleshoot|relieve|soothe|stop|clear)\b"
        r"|\bwhat (?:should|do|can) i do\b"
        r"|\bwhat to do\b"
        r"|(?:怎么|咋|如何)(?:办(?!理)|整|处理|解决|修|治|缓解|降|救|消除|去除|改善)"
        r"|(?:处理|解决)(?:方法|办法)"
    ),
    "symptom": re.compile(r"\bsigns? of\b|\bsymptoms?\b|症状|征兆"),
    # What follows an action against how to do it: "what happens after I report an
    # account" / "how do I report an account". A remedy is a way to do something too.
    "consequence": re.compile(
        r"\bwhat (?:happens|will happen)\b|\bconsequences?\b"
        r"|(?:什么|啥|哪些)(?:危害|坏处|后果)|危害(?:大|性)"
    ),
    # Who qualifies against how to apply: "who is eligible for SNAP" / "how to apply for
    # SNAP" (in Chinese, ASPECTS_ZH's requirements: 需要什么条件 / 怎么申请).
    "requirement": re.compile(
        r"\brequirements?\b|\beligib(?:le|ility)\b|\bqualif(?:y|ications?)\b|\bwho can\b"
        r"|\b(?:have|has|need|needs) to meet\b|\bmust meet\b"  # what regulations it must meet
    ),
    "procedure": re.compile(
        r"\bhow (?:do|can|should|would) (?:i|you|we|one) (?!know\b|tell\b)\w+|\bhow to\b"
        r"|\bsteps? to\b|\bstep[- ]by[- ]step\b|\bprocess (?:to|for|of)\b|\bprocess works?\b"
        r"|\bwhat (?:should|do|can) i do\b|\bwhat to do\b"
    ),
}

# Abbreviations whose full stop does not end a sentence ("Dr. Okafor" is a name).
TITLES = frozenset(["mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "mt", "no", "vs", "etc"])

# Units of measure and currencies, by canonical name: "10 kilometers" and "10 miles"
# hold the same number but ask about different quantities ("How many miles is 10
# kilometers?" / "How many kilometers is 10 miles?"). Aliases are matched after a
# number (English ones as whole words, case-insensitive); symbols before one.
MEASURE_UNITS: dict[str, tuple[str, ...]] = {
    "km": ("km", "kms", "kilometer", "kilometers", "kilometre", "kilometres", "公里", "千米"),
    "mile": ("mi", "mile", "miles", "英里"),
    "m": ("meter", "meters", "metre", "metres", "米"),
    "cm": ("cm", "centimeter", "centimeters", "centimetre", "centimetres", "厘米"),
    "mm": ("mm", "millimeter", "millimeters", "millimetre", "millimetres", "毫米"),
    "inch": ("inch", "inches", "英寸"),
    "foot": ("ft", "foot", "feet", "英尺"),
    "yard": ("yd", "yard", "yards"),
    "kg": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "公斤", "千克"),
    "lb": ("lb", "lbs", "磅"),
    "pound": ("pound", "pounds"),  # weight or sterling: agrees with both (UNIT_READINGS)
    "jin": ("斤",),
    "g": ("gram", "grams", "克"),
    "oz": ("oz", "ounce", "ounces", "盎司"),
    "celsius": ("°c", "celsius", "centigrade", "摄氏度"),
    "fahrenheit": ("°f", "fahrenheit", "华氏度"),
    "liter": ("l", "liter", "liters", "litre", "litres", "升"),
    "ml": ("ml", "milliliter", "milliliters", "millilitre", "millilitres", "毫升"),
    "gallon": ("gal", "gallon", "gallons", "加仑"),
    "cup": ("cup", "cups"),
    "usd": ("usd", "dollar", "dollars", "us dollar", "us dollars", "bucks", "美元", "美金", "$"),
    "cad": ("cad", "canadian dollar", "canadian dollars", "加元"),
    "aud": ("aud", "australian dollar", "australian dollars", "澳元"),
    "hkd": ("hkd", "hong kong dollar", "hong kong dollars", "港币", "港元"),
    "eur": ("eur", "euro", "euros", "欧元", "€"),
    "gbp": ("gbp", "quid", "英镑", "£"),
    "cny": ("cny", "rmb", "yuan", "元", "块", "人民币"),
    "jpy": ("jpy", "yen", "日元", "¥"),
    "gb": ("gb", "gigabyte", "gigabytes"),
    "mb": ("mb", "megabyte", "megabytes"),
    "tb": ("tb", "terabyte", "terabytes"),
    "mph": ("mph",),
    "kmh": ("km/h", "kph", "kmh"),
}
# Units a word may name either of: "5 pound box" is "5 lb", "50 pounds" may be "£50".
UNIT_READINGS = {"pound": frozenset({"pound", "lb", "gbp"})}


# Names written two ways, read as one by every rule when capitalised: a US state and its
# postal code, a country and its demonym or abbreviation.
# Postal codes that are also words or acronyms (OK, IN, ME, LA, CA, CT, SD...) are left out.
_STATES_US = (
    "AK alaska, AZ arizona, FL florida, "
    "IL illinois, IA iowa, KS kansas, KY kentucky, MI michigan, MN minnesota, "
    "MO missouri, MT montana, NV nevada, NH new hampshire, NJ new jersey, NM new mexico, "
    "NY new york, NC north carolina, ND north dakota, OH ohio, RI rhode island, "
    "TN tennessee, TX texas, VT vermont, WA washington, WV west virginia, WI wisconsin, "
    "WY wyoming"
)
NAME_ALIASES_EN: dict[str, tuple[str, ...]] = {
    **{
        entry.split(" ", 1)[0].lower(): tuple(entry.split(" ", 1)[1].split())
        for entry in _STATES_US.split(", ")
    },
    **dict.fromkeys(("us", "usa", "america", "american", "americans"), ("usa",)),
    **dict.fromkeys(("uk", "britain", "british", "brit"), ("uk",)),
}


# The two sides of a relation. Two Chinese questions whose subjects are opposite sides
# ask who owes, pays or sues whom the other way round ("房东提前收房要赔租客多少钱" /
# "租客提前退租要赔房东多少钱"); English has the exchange rule (tenant sue landlord).
_PARTY_SIDES_ZH = {
    "landlord": ("房东", "业主"),
    "tenant": ("租客", "房客", "租户"),
    "buyer": ("买家", "买方", "顾客"),
    "seller": ("卖家", "卖方", "商家"),
    "employer": ("雇主", "用人单位", "老板", "公司"),
    "employee": ("员工", "劳动者", "雇员"),
    "lender": ("出借人", "债权人"),
    "borrower": ("借款人", "债务人"),
    "plaintiff": ("原告",),
    "defendant": ("被告",),
    "first_party": ("甲方",),
    "second_party": ("乙方",),
}
PARTIES_ZH = {word: side for side, words in _PARTY_SIDES_ZH.items() for word in words}
PARTY_PAIRS = (
    ("landlord", "tenant"),
    ("buyer", "seller"),
    ("employer", "employee"),
    ("lender", "borrower"),
    ("plaintiff", "defendant"),
    ("first_party", "second_party"),
)
# What may stand before the first party without making it no subject: a polite opener
# or a condition (请问房东…, 如果租客…).
PARTY_LEAD_FILLERS_ZH = ("请问", "问一下", "想问", "如果", "要是", "假如")


# Place names in Chinese, read as names (Chinese has no capitals to mark them): two
# questions that each name a place the other does not ask about different places
# (爷爷是爱尔兰人能申请国籍吗 / 爷爷是意大利人…). Countries, then China's provinces and
# large cities; a longer name wins where one contains another (印度尼西亚, not 印度).
_PLACES_ZH = (
    "中国 美国 英国 法国 德国 意大利 西班牙 葡萄牙 荷兰 比利时 瑞士 奥地利 瑞典 挪威 丹麦 "
    "芬兰 冰岛 爱尔兰 苏格兰 波兰 捷克 匈牙利 希腊 土耳其 俄罗斯 乌克兰 罗马尼亚 保加利亚 "
    "塞尔维亚 克罗地亚 卢森堡 摩纳哥 日本 韩国 朝鲜 蒙古 越南 泰国 老挝 柬埔寨 缅甸 "
    "马来西亚 新加坡 印度尼西亚 印尼 菲律宾 文莱 印度 巴基斯坦 孟加拉 尼泊尔 斯里兰卡 "
    "马尔代夫 伊朗 伊拉克 以色列 沙特 阿联酋 卡塔尔 科威特 约旦 埃及 摩洛哥 南非 "
    "尼日利亚 肯尼亚 埃塞俄比亚 坦桑尼亚 加拿大 墨西哥 古巴 巴西 阿根廷 智利 秘鲁 哥伦比亚 "
    "委内瑞拉 澳大利亚 澳洲 新西兰 哈萨克斯坦 乌兹别克斯坦 欧洲 亚洲 非洲 北美 南美 "
    "北京 上海 天津 重庆 广州 深圳 杭州 南京 苏州 成都 武汉 西安 长沙 郑州 济南 青岛 "
    "大连 沈阳 哈尔滨 长春 石家庄 太原 合肥 福州 厦门 南昌 南宁 昆明 贵阳 海口 三亚 "
    "兰州 西宁 银川 乌鲁木齐 拉萨 呼和浩特 宁波 无锡 东莞 佛山 珠海 温州 "
    "广东 广西 浙江 江苏 福建 江西 安徽 山东 山西 河北 河南 湖北 湖南 四川 贵州 云南 "
    "陕西 甘肃 青海 宁夏 新疆 西藏 内蒙古 辽宁 吉林 黑龙江 海南 台湾 香港 澳门"
)
PLACES_ZH = re.compile("|".join(sorted(_PLACES_ZH.split(), key=len, reverse=True)))
PLACE_ALIASES_ZH = {"澳洲": "澳大利亚", "印尼": "印度尼西亚"}
