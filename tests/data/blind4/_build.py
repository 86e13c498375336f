"""Assemble semcache-blind4.jsonl and pii-ip-blind4.jsonl from the _data_*.py lists."""
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _data_en import EN_PARA, EN_NEG  # noqa: E402
from _data_zh import ZH_PARA, ZH_NEG  # noqa: E402
from _data_ip import EN_PII, EN_LOOK, ZH_PII, ZH_LOOK  # noqa: E402

NEG_KINDS = ["number", "negation", "entity", "scope", "direction", "polarity", "related"]


def sem_rows(lang, para, neg):
    rows = []
    items = [(a, b, True, "paraphrase", d) for a, b, d in para]
    for k in NEG_KINDS:
        items += [(a, b, False, k, d) for a, b, d in neg[k]]
    for i, (a, b, same, kind, dom) in enumerate(items, 1):
        rows.append({"id": f"b4-{lang}-{i:04d}", "a": a, "b": b, "same": same,
                     "lang": lang, "kind": kind, "domain": dom})
    return rows


MARK = re.compile(r"\[\[(.+?)\]\]")


def ip_row(text_marked, lang, kind):
    spans = []
    out = ""
    pos = 0
    for m in MARK.finditer(text_marked):
        out += text_marked[pos:m.start()]
        start = len(out)
        out += m.group(1)
        spans.append({"type": "IP_ADDRESS", "start": start, "end": len(out), "value": m.group(1)})
        pos = m.end()
    out += text_marked[pos:]
    return {"text": out, "lang": lang, "kind": kind, "spans": spans}


def main():
    rng = random.Random(20261206)
    sem = sem_rows("en", EN_PARA, EN_NEG) + sem_rows("zh", ZH_PARA, ZH_NEG)
    rng.shuffle(sem)
    with open(os.path.join(HERE, "semcache-blind4.jsonl"), "w", encoding="utf-8") as f:
        for r in sem:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    ip = []
    for lang, pii, look in (("en", EN_PII, EN_LOOK), ("zh", ZH_PII, ZH_LOOK)):
        ip += [ip_row(t, lang, "pii") for t in pii]
        ip += [ip_row(t, lang, "lookalike") for t in look]
    ip = [{"id": f"b4-ip-{i:04d}", **r} for i, r in enumerate(ip, 1)]
    rng.shuffle(ip)
    with open(os.path.join(HERE, "pii-ip-blind4.jsonl"), "w", encoding="utf-8") as f:
        for r in ip:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
