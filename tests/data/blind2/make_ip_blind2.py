# ruff: noqa: RUF001
"""Writes ip-blind2.jsonl: dotted quads that are IPv4 addresses and ones that are not
(version, build and section numbers), English and Chinese. Written by hand on
2026-12-05 before the IPv4 rule was changed, and frozen (see ../blind/README.md rules).
Spans are located by string search; ``[[...]]`` marks an address in the text."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROWS = [
    # --- addresses (en)
    ("en", "The staging box answers on [[203.0.113.45]] but not on its DNS name."),
    ("en", "Please whitelist [[198.18.4.20]] and [[198.18.4.21]] for the SFTP drop."),
    ("en", "ssh admin@[[10.20.30.40]] -p 2222 fails with a timeout since Monday."),
    ("en", "Our printer grabbed [[192.168.0.250]] from DHCP again, can we pin it?"),
    ("en", "Traffic from [[100.64.3.9]] spiked at 02:00; is that the CGNAT pool?"),
    ("en", "Set the resolver to [[9.9.9.9]] in the router and reboot."),
    ("en", "curl http://[[172.31.255.1]]:8080/health returns 503"),
    ("en", "Gateway: [[192.0.2.1]], mask 255.255.255.0 is what the ISP sent."),
    ("en", "The camera at [[10.0.7.13]] keeps dropping off the VLAN."),
    ("en", "Blocked login attempts from [[45.33.12.200]] overnight, 412 of them."),
    ("en", "Point the MQTT client at [[192.168.50.2]] port 1883."),
    ("en", "Is [[169.254.10.10]] a link-local address? My laptop shows it."),
    # --- addresses (zh)
    ("zh", "测试环境的数据库在[[10.8.0.21]]上，连不上了。"),
    ("zh", "请把[[203.0.113.9]]加到防火墙白名单里。"),
    ("zh", "打印机的地址是[[192.168.1.120]]，同事都连不上。"),
    ("zh", "昨晚有人从[[61.135.7.88]]反复尝试登录后台。"),
    ("zh", "网关填[[192.168.10.1]]，子网掩码填255.255.255.0。"),
    ("zh", "摄像头[[10.1.2.3]]和[[10.1.2.4]]都掉线了。"),
    ("zh", "把DNS改成[[223.5.5.5]]之后网页打开快多了。"),
    ("zh", "内网穿透映射到[[172.20.1.15]]的8080端口。"),
    ("zh", "NAS的管理页面[[192.168.3.200]]登录不进去。"),
    ("zh", "日志里客户端IP是[[117.50.3.6]]，帮查一下归属地。"),
    ("zh", "服务器[[198.51.100.3]]的磁盘快满了。"),
    ("zh", "ping [[8.8.4.4]] 丢包严重，是不是线路问题？"),
    # --- not addresses (en)
    ("en", "After updating to firmware 3.10.2.8 the fan runs constantly."),
    ("en", "The installer says version 6.1.0.12 is required before the patch."),
    ("en", "Windows build 10.0.19045.4170 broke my audio driver."),
    ("en", "Release v2.4.1.3 fixed the memory leak in the exporter."),
    ("en", "We pinned the driver at 4.18.0.193 because newer ones crash."),
    ("en", "See clause 7.2.1.4 of the lease for the deposit rules."),
    ("en", "The SNMP object 1.3.6.1 is the internet subtree."),
    ("en", "Chrome 120.0.6099.109 shows a blank page on our intranet."),
    ("en", "Upgrade the BIOS from 1.0.4.2 to 1.0.5.0 first."),
    ("en", "Section 2.3.1.5 of the spec defines the retry header."),
    ("en", "Package libfoo-5.2.0.1 conflicts with libbar."),
    ("en", "Our app is on ver. 8.0.1.22 and the store wants 8.0.2."),
    # --- not addresses (zh)
    ("zh", "路由器固件升级到1.2.6.18以后经常断网。"),
    ("zh", "系统提示需要先安装版本5.0.3.12的运行库。"),
    ("zh", "内核版本4.19.90.23编译不过这个模块。"),
    ("zh", "合同第3.2.1.4条写的是违约金怎么算。"),
    ("zh", "驱动停在2.7.0.15，新版本会蓝屏。"),
    ("zh", "APP当前版本号9.1.0.3，应用商店提示更新。"),
    ("zh", "规范第4.1.2.7节规定了超时重试。"),
    ("zh", "客户端v3.6.2.1登录后闪退。"),
    ("zh", "BIOS从1.0.2.9升到1.0.3.1之后识别不到硬盘。"),
    ("zh", "这个插件要求浏览器在110.0.5481.77以上。"),
    ("zh", "软件包libxyz-7.3.0.2和旧库冲突。"),
    ("zh", "固件版本号显示V1.1.0.26，是最新的吗？"),
]

MARK = re.compile(r"\[\[(.+?)\]\]")


def row(index: int, lang: str, marked: str) -> dict[str, object]:
    spans = []
    text = ""
    last = 0
    for match in MARK.finditer(marked):
        text += marked[last : match.start()]
        start = len(text)
        text += match.group(1)
        spans.append(
            {"type": "IP_ADDRESS", "start": start, "end": len(text), "value": match.group(1)}
        )
        last = match.end()
    text += marked[last:]
    kind = "pii" if spans else "version"
    return {
        "id": f"blind2-ip-{index:03d}",
        "text": text,
        "lang": lang,
        "kind": kind,
        "spans": spans,
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("ip-blind2.jsonl")
    with out.open("w", encoding="utf-8") as handle:
        for i, (lang, marked) in enumerate(ROWS, 1):
            handle.write(json.dumps(row(i, lang, marked), ensure_ascii=False) + "\n")
