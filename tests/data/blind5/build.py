import json, random, re, unicodedata, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_en, data_zh, data_ip

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261206)


def rows_for(lang, mod):
    rows = []
    for a, b, d in mod.PARA:
        rows.append(dict(a=a, b=b, same=True, lang=lang, kind="paraphrase", domain=d))
    for kind, items in mod.NEG.items():
        for a, b, d in items:
            rows.append(dict(a=a, b=b, same=False, lang=lang, kind=kind, domain=d))
    return rows


all_rows = []
for lang, mod in (("en", data_en), ("zh", data_zh)):
    rows = rows_for(lang, mod)
    rng.shuffle(rows)
    for i, r in enumerate(rows, 1):
        if rng.random() < 0.5:
            r["a"], r["b"] = r["b"], r["a"]
        all_rows.append({"id": f"b5-{lang}-{i:04d}", "a": r["a"], "b": r["b"], "same": r["same"],
                         "lang": lang, "kind": r["kind"], "domain": r["domain"]})
rng.shuffle(all_rows)
with open(os.path.join(HERE, "semcache-blind5.jsonl"), "w", encoding="utf-8") as f:
    for r in all_rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")


def spans_for(text, values):
    spans, pos = [], 0
    for v in values:
        # value must occur exactly once, not inside a longer digit/dot run
        occ = [m.start() for m in re.finditer(r"(?<![\d.])" + re.escape(v) + r"(?![\d])(?!\.\d)", text)]
        assert len(occ) == 1, (text, v, occ)
        s = occ[0]
        assert s >= pos, (text, v)
        spans.append({"type": "IP_ADDRESS", "start": s, "end": s + len(v), "value": v})
        pos = s + len(v)
    return spans


ip_rows = []
for lang, pii, look in (("en", data_ip.EN_PII, data_ip.EN_LOOK), ("zh", data_ip.ZH_PII, data_ip.ZH_LOOK)):
    for t, vals in pii:
        ip_rows.append({"text": t, "lang": lang, "kind": "pii", "spans": spans_for(t, vals)})
    for t in look:
        ip_rows.append({"text": t, "lang": lang, "kind": "lookalike", "spans": []})
rng.shuffle(ip_rows)
with open(os.path.join(HERE, "pii-ip-blind5.jsonl"), "w", encoding="utf-8") as f:
    for i, r in enumerate(ip_rows, 1):
        f.write(json.dumps({"id": f"b5-ip-{i:04d}", **r}, ensure_ascii=False) + "\n")
print("built", len(all_rows), len(ip_rows))
