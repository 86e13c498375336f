"""Whether a dotted quad is a host address or another four-part number, by its words.

``10.4.2.1`` is an address in "ping 10.4.2.1" and a heading in "Table 10.4.2.1";
``7.1.3.2`` is a gem version in a lock file, ``25.19.25.22`` a volleyball score. The
digits cannot tell them apart (all four parts fit in a byte), so the IPv4 scanner asks
the text: it finds the words that belong to networking (ping, DNS, server, firewall,
地址, 网关...) and the words that belong to the other things four-part numbers number
(versions and releases, documents, catalogues, scores and sequences: version, SKU,
figure, score, 版本, 编号, 比分...), and the nearer kind decides.

Missing an address costs more than redacting a version, so the scanner only calls a
quad "not an address" when a non-network word is nearer than any network word and
within ``REACH`` characters of it; with no cue at all it stays an address.
"""

from __future__ import annotations

import re

REACH = 80  # characters between the quad and a non-network word that still count

_NETWORK_EN = (
    "ip|ips|ipv4|address|addresses|addr|host|hosts|hostname|localhost|server|servers|"
    "dns|resolver|nameserver|ping|pings|pinging|traceroute|tracert|nslookup|dig|whois|"
    "ssh|sshd|scp|sftp|rdp|telnet|curl|wget|http|https|tcp|udp|icmp|port|ports|subnet|"
    "subnets|cidr|netmask|gateway|router|routers|route|routes|routing|hop|firewall|"
    "allowlist|whitelist|blocklist|blacklist|iptables|ufw|nginx|haproxy|proxy|proxies|"
    "lan|wan|wifi|wi-fi|ethernet|dhcp|nat|loopback|interface|ospf|bgp|vlan|arp|"
    "reachable|unreachable|reached|portal|portals|intranet|igmp|multicast|connect|connects|"
    "connected|connecting|connection|listen|"
    "listens|listening|bind|upstream|packet|packets|ingress|egress|inbound|outbound|"
    "src|dst|node|nodes|pod|pods|endpoint|vm|ec2|instance|network|networks|networking|"
    "phishing|attacker|attackers|brute|spoofed|sender|smtp|cdn|domain|ipconfig|ifconfig|"
    "geolocate|geolocation|visitor|visitors|nic|modem|ssid|tunnel|socket|sockets|db|"
    "database|browser|authenticate|authenticates|authenticated|login|logins|upload|"
    "uploads|uploader|mirror|mirrors|repo|registry|site|service|machine|box|vip|snmp|"
    "isp|api|apis|apiserver|staging|deploy|deploys|deployed|deploying|posts|sends|forwards|"
    "accessed|accessing|client|clients|matchmaking|printer|printers|reach|agent|agents|"
    "runner|runners|worker|workers|geo|ranges|ntp|rtt|latency|anycast|probe|vrrp|hsrp|acl|"
    "acls|keepalived|multicast|igmp|ssdp|upnp|mdns|llmnr|netbios"
)
_NETWORK_ZH = (
    "地址|服务器|主机|网关|路由(?!代?码)|防火墙|放行|拦截|封禁|白名单|黑名单|端口|网段|子网|掩码|"
    "连接|连不上|访问|解析|域名|内网|外网|公网|局域网|网卡|网络|安全组|入方向|出方向|"
    "下一跳|外联|代理|远程|监听|上网|宽带|光猫|拓扑|邻居|爆破|攻击|发件|邮件头|超时|"
    "数据库|浏览器|登录|上传|(?<![Oo][Ii][Dd])节点|机器|连的是|连到|部署|灰度|源站|接口|集群|测试机|服务|环境|"
    "测试服|正式服|停机|组播|多播|广播"
)
_OTHER_EN = (
    "version|versions|ver|release|releases|released|build|builds|patch|patched|hotfix|"
    "upgrade|upgraded|upgrading|downgrade|downgraded|rollback|rolled|pinned|changelog|"
    "install|installed|installer|package|packages|pkg|nuget|maven|gem|gems|gemfile|jar|"
    "npm|pip|lock|lockfile|dependency|dependencies|artifact|assembly|library|sdk|soname|"
    "abi|compiled|firmware|splash|figure|fig|table|chapter|section|clause|paragraph|"
    "article|heading|headings|outline|step|steps|appendix|subsection|renumber|"
    "template|thesis|essay|sku|catalog|catalogue|part|model|serial|qty|sequence|"
    "numbers|score|scores|scored|points|lottery|quarter|gcd|lcm|average|ratio|ratios|"
    "degrees|recipe|golf|par|agreement|contract|lease|statute|regulation|image|"
    "procedure|procedures|module|modules|lot|requirement|requirements|exercise|"
    "exercises|item|items|task|lesson|criterion|criteria|spec|specification|annex|"
    "exhibit|manual|handbook|plugin|plugins|extension|addon|edition|revision|rev|"
    "checklist|audit|standard|iso|game|draw|latitude|longitude|coordinates|coordinate|"
    "north|south|east|west|notation|room|floor|building|timetable|grade|"
    "classification|theorem|lemma|corollary|proposition|equation|measurements|"
    "measurement|chest|waist|hips|height|code|gps|batch|departures|departure|"
    "identifier|asn|marks|exam|exams|mib|oid|invoice|invoices|inventory|asset|least|newer|"
    "bios|position|slot|software|ledger|aisle|shelf|chart|charts|guide|guides|textbook|"
    "syllabus|budget|voucher|sample|samples|specimen|gl|parcel|parcels|courier|depot|"
    "consignment|shipment|reference|control|shelfmark|subclause"
)
# 表 is a table (见表 3.2.1.4), not a list (列表), a routing table (路由表), a meter or a watch
# (电表, 水表, 手表), nor in 表示, 代表, 表面...
_OTHER_ZH = (
    "版本|固件|升级|升到|回滚|回退到|降级|降到|构建|补丁|发布|更新日志|安装包|依赖|编号|零件号|编码(?!器)|(?:线路|路线|路由)代?码|"
    "型号|货号|条款|标题|提纲|目录|步骤|数列|彩票|比分|比例|配方|温度|分段|等差|公差|档案|"
    "章节|小节|段落|合同|协议|高尔夫|手册|插件|更新到|规定|规范|标准|练习|习题|模块|游戏|"
    "序列号|更新后|更新了|双色球|大乐透|开奖|得分|记分|分数|成绩|经度|纬度|度分秒|坐标|批次号|批次|批号|"
    "血压|身高|体重|测量|分拣码|面单|房卡|定理|公式|三围|胸围|腰围|箱号|单号|取件码|提货码|"
    "取货码|文号|排名|名次|门牌|配件|图纸|序号|印着|刻着|安装|及以上|或更高|公告|大纲|知识点|"
    "任务|位置|槽位|科目|库位|货位|货架|凭证|书架|架位|架号|座位|座号|成本中心|登记号|馆藏|分拣中心|分拨中心|转运中心|(?<![由A-Za-z代发手电水列])表(?![示面达明扬态单])|(?<![发出])版(?![权面])"
)
_WORDS_EN = {
    **dict.fromkeys(_NETWORK_EN.split("|"), True),
    **dict.fromkeys(_OTHER_EN.split("|"), False),
}
_WORDS_ZH = re.compile(f"(?P<network>{_NETWORK_ZH})|{_OTHER_ZH}")
# Phrases whose words are no network words alone: "points to X", "came from X" ("sent,
# submitted... from X"), "tests against X", "DHCP lease": a record's target, where a
# request came from, what a run was aimed at, an address handed out (not a tenancy).
_NETWORK_PHRASE = re.compile(
    r"points?\s+(?:to|at)\b|(?:came|comes|coming|sent|submitted|originated|initiated)\s+from\b"
    r"|(?:tests?|tested|ran|run|running)\s+against\b"
    r"|(?<=dhcp\s)lease\b|lease\s+(?:time|obtained|renew\w*|expir\w*)\b",
    re.I,
)
# Cue words that are no cue where they stand: "sorted to route 14.3.22.9" is a delivery
# round, not a network route (a route command or a prefix, "route add", "to route
# 10.0.0.0/8", is a host by its syntax); a batch that runs is a job, not a batch number
# ("before Friday's batch run? It is X").
_NO_CUE = re.compile(
    r"(?<=\bto\s)route\b"
    r"|batch(?:es)?\s+(?:runs?|jobs?|process(?:ing)?|windows?|imports?|exports?)\b",
    re.I,
)
_ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")


def other_number(text: str, start: int, end: int) -> bool:
    """True when the words around ``text[start:end]`` say it is not a host address:
    the nearest cue word within ``REACH`` characters is a non-network one."""
    low, high = max(0, start - REACH), min(len(text), end + REACH)
    nearest: tuple[int, bool] | None = None  # (gap, is a network word)
    for match in _ASCII_WORD.finditer(text, low, high):
        network = None if _NO_CUE.match(text, match.start()) else _cue(match.group().lower())
        if _IP_KEY.search(match.group()):
            network = True  # a key naming an address: clusterIP, externalIPs, db_host, bind_addr
        if network is not True and _NETWORK_PHRASE.match(text, match.start()):
            network = True  # "api.example.com points to X": a record's target, not a score
        if network is not None:
            nearest = _nearer(nearest, text, match.span(), start, end, network)
    if not text.isascii():
        for match in _WORDS_ZH.finditer(text, low, high):
            network = match.group("network") is not None
            nearest = _nearer(nearest, text, match.span(), start, end, network)
    return nearest is not None and not nearest[1]


_IP_KEY = re.compile(r"(?:[a-z](?:IP|Ip|Host|Addr)|[_-](?i:ip|host|addr|address))s?$")


def _cue(word: str) -> bool | None:
    """Whether ``word`` is a network word (True), another number's word (False) or no
    cue (None); a plural reads as its singular ("route codes", "table numbers")."""
    cue = _WORDS_EN.get(word)
    if cue is None and word.endswith("s") and len(word) > 4:  # not "lots" (of): a lot
        cue = _WORDS_EN.get(word[:-1])
    return cue


def _nearer(
    nearest: tuple[int, bool] | None,
    text: str,
    span: tuple[int, int],
    start: int,
    end: int,
    network: bool,
) -> tuple[int, bool] | None:
    """The nearer of two cues; a network word wins a tie."""
    if span[1] <= start:
        between = text[span[1] : start]
    elif span[0] >= end:
        between = text[end : span[0]]
    else:
        return nearest
    if not network and (
        _claimed(between, text[start:end])
        or _OWN_NUMBER.match(text, span[1])
        or (span[1] <= start and _ORDINAL_BEFORE.search(text, max(0, span[0] - 12), span[0]))
    ):
        return nearest
    gap = _distance(between)
    if nearest is None or gap < nearest[0] or (gap == nearest[0] and network):
        return (gap, network)
    return nearest


def _claimed(between: str, quad: str) -> bool:
    """A dotted number that cannot be an address stands between the word and the quad:
    the word is that number's ("Installed Chrome 120.0.6099.109 on the kiosk at
    10.8.3.22"), not the quad's. A heading above the quad in one numbering (2.1.3
    above 2.1.3.2) shares its word."""
    return any(
        not _is_quad(m.group()) and not quad.startswith(m.group() + ".")
        for m in _DOTTED.finditer(between)
    )


# A plain number right after a word is what the word labels ("floor 2", "room 14"), not
# a quad further on: "the printer on floor 2 is at 10.0.2.254".
_OWN_NUMBER = re.compile(r"\s*(?:no\.?\s*|#\s*)?\d+(?![.\d])")
# So does an ordinal before it, when it stands before the quad: "since we moved to the
# third floor my desk phone shows X".
_ORDINAL_BEFORE = re.compile(
    r"(?:\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|top|ground)"
    r"|\b\d+(?:st|nd|rd|th))\s+$",
    re.I,
)


def _is_quad(number: str) -> bool:
    parts = number.split(".")
    return len(parts) == 4 and all(int(p) <= 255 for p in parts)


_DOTTED = re.compile(r"(?<![\d.])\d+(?:\.\d+)+(?![\d.]*\d)")


def _distance(between: str) -> int:
    """Half-words between a cue and the quad (a CJK character is half a word; numbers
    do not count), and three words more for each clause boundary: "connect directly to
    X, we're on version Y" keeps X a host."""
    between = _ABBREVIATION.sub(" ", between)  # "Catalogue no. X": no clause ends there
    words = 2 * len(_GAP_WORD.findall(between)) + len(_GAP_CJK.findall(between))
    return words + 6 * len(_GAP_CLAUSE.findall(between))


_ABBREVIATION = re.compile(
    r"\b(?:no|nos|fig|figs|sec|vol|art|ch|pp?|cat|ref|para|eq|ver|rev)\.", re.I
)
_GAP_WORD = re.compile(r"[A-Za-z]+")  # numbers in between are not words
_GAP_CJK = re.compile(r"[\u4e00-\u9fff]")
_GAP_CLAUSE = re.compile("[,;:!?\u3002\uff1b\uff0c\uff01\uff1f]|\\.(?=\\s)")


def network_word(word: str) -> bool:
    """``word`` is one of the networking words (``IP``, ``ping``)."""
    return _WORDS_EN.get(word.lower()) is True


def names_network(text: str) -> bool:
    """Whether ``text`` has any networking word ("DNS", "server", 网关)."""
    if any(_cue(word.lower()) is True for word in _ASCII_WORD.findall(text)):
        return True
    return any(match.group("network") for match in _WORDS_ZH.finditer(text))


# The label a number is written under, right before it: "catalogue code 172.16.4.2",
# "目录编号 172.16.4.2" (a space, a colon or "#" between). Identifiers only: "lease
# 192.168.1.20 {" opens a DHCP lease.
_LABELS = (
    "code|codes|sku|catalogue|catalog|part|item|serial|account|voucher|invoice|batch|lot|"
    "shelf|aisle|slot|bin|clause|section|chapter|figure|table|article|paragraph|sample|"
    "specimen|reference|gl|shelfmark|subclause|locator|parcel"
)
_LABELS_EN = frozenset(_LABELS.split("|"))
_LABEL_EN = re.compile(  # "part no. X", "item #X"; not "hard-codes X"
    r"(?<![A-Za-z-])([A-Za-z]+)(?:[ \t]+(?:no|nr|number)\.?)?[ \t]*[:#]?[ \t]*$", re.I
)
_LABEL_ZH = re.compile(
    "(?:编号|货号|型号|零件号|序号|序列号|单号|箱号|批号|批次号|凭证号?|科目|架位号?|架号|库位|货位"
    "|条款|文档|附件|附录|文号|税则号列|税则号|税号|料号|成本中心|分拣码|格口|取件码|提货码|取货码|编码(?!器)|样品|样本|索书号|登记号|包裹|定位码)"
    "(?:代码|[码号])?"
    "(?:请填写?|填写?|写的是|写着|填的是|[\u4e00-\u9fff]{0,5}?[为是])?[ \t]*[:\uff1a#]?[ \t]*"
    "(?:[A-Z]{1,3}[ \t]*)?$"
)


# Two-word labels: "cost centre 10.4.20.1", "budget line 172.16.4.2" (not "data center"),
# "bin location 172.18.3.9", "shelf mark 172.16.4.2", "cat. no. 192.168.0.12",
# "shelved under mark 155.9.42.6", "tariff line 85.17.62.90", "pick location 192.168.4.12".
_TWO_WORD_LABEL = re.compile(
    r"\b(?:(?:cost|profit)[ \t]+cent(?:re|er)|budget[ \t]+(?:line|code|item|head)"
    r"|(?:bin|shelf|stock|storage|warehouse|pick|picking|pallet)[ \t]+location"
    r"|call[ \t]+(?:number|no\.?)"  # a library's: "shelved at call number 21.3.150.8"
    r"|shelf[ \t]+mark|cat\.?[ \t]*no\.?"
    r"|(?:shelved|filed)[ \t]+under(?:[ \t]+mark)?"
    r"|(?:tariff|commodity|hs)[ \t]+(?:line|code|(?:sub-?)?heading|number|no\.?)"
    r"|cross-?ref(?:erence)?|xref)"
    r"[ \t]*[:#]?[ \t]*$",
    re.I,
)


# ... or right after it: "172.20.3.9 是样本编号" (is the sample number).
_LABEL_AFTER_ZH = re.compile(
    r"[ \t]*(?:是|为)([\u4e00-\u9fff]{0,4})(?:编号|编码|序号|批号|货号|型号|单号|索书号)"
)


def named_after(text: str, end: int) -> bool:
    """A Chinese identifier's label right after the quad, after 是 or 为, naming no
    network thing ("是样本编号"; not "是服务器编号")."""
    label = _LABEL_AFTER_ZH.match(text, end)
    return label is not None and not names_network(label.group(1))


# A compound of labels: "aisle-rack-shelf-bin 192.168.3.12" (not "hard-codes X").
_COMPOUND_LABEL = re.compile(r"(?<![A-Za-z-])((?:[A-Za-z]+-)+[A-Za-z]+)[ \t]*[:#]?[ \t]*$")
_LOCATION_PARTS = _LABELS_EN | {"rack", "row", "bay", "level", "zone"}


def named_before(text: str, begin: int) -> bool:
    """The quad stands right after an identifier's label, with nothing between but a
    space, a colon or "#": it is that identifier, in any range (in a private one, only
    such a label outweighs the range)."""
    before = text[max(0, begin - 24) : begin]
    label = _LABEL_EN.search(before)
    if label is not None and label.group(1).lower() in _LABELS_EN:
        return True
    compound = _COMPOUND_LABEL.search(before)
    if compound is not None and all(
        part in _LOCATION_PARTS for part in compound.group(1).lower().split("-")
    ):
        return True
    if _TWO_WORD_LABEL.search(before):
        return True
    return not before.isascii() and _LABEL_ZH.search(before) is not None


# The text says outright that the number is no address: "… 192.168.2.7 is aisle 192,
# rack 168. It is not a network address"; "172.16.2.5表示172区16排2层5位" and then
# "不是网络地址".
# Not "not the server's address" or "不是服务器地址": an address still, just another one.
_DENIED = re.compile(
    r"\bnot\s+an?\s+(?:(?:ip|ipv4|network)\s+address|ipv?4?\b)|(?:不是|并非|而非)(?:IP|ip|网络)地址",
    re.I,
)


def denied(text: str, end: int) -> bool:
    """A denial follows the quad within ``REACH`` characters, with no other dotted
    number between (that number's, then)."""
    after = text[end : end + REACH]
    denial = _DENIED.search(after)
    return denial is not None and _DOTTED.search(after, 0, denial.start()) is None
