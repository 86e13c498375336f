import json, random, re, hashlib, unicodedata, ipaddress
from collections import Counter
from data_en import EN
from data_zh import ZH
from data_ip import IP

rng = random.Random(20261206)

def norm(s):
    s = s.lower()
    return "".join(ch for ch in s if not (unicodedata.category(ch).startswith("P") or unicodedata.category(ch).startswith("S") or ch.isspace()))

def rows_for(lang, data):
    data = list(data)
    rng.shuffle(data)
    out = []
    for i, (kind, domain, a, b) in enumerate(data, 1):
        if rng.random() < 0.5:
            a, b = b, a
        out.append({"id": f"b6-{lang}-{i:04d}", "a": a, "b": b, "same": kind == "paraphrase",
                    "lang": lang, "kind": kind, "domain": domain})
    return out

sem = rows_for("en", EN) + rows_for("zh", ZH)
rng.shuffle(sem)

# ---- semcache checks
exp = {("en", "paraphrase"): 120, ("zh", "paraphrase"): 80, ("en", "related"): 20, ("zh", "related"): 40}
for l in ("en", "zh"):
    for k in ("number", "negation", "entity", "scope", "direction", "polarity"):
        exp[(l, k)] = 10
cnt = Counter((r["lang"], r["kind"]) for r in sem)
assert cnt == Counter(exp), (cnt, exp)
assert len(sem) == 380
assert len({r["id"] for r in sem}) == 380
seen = {}
for r in sem:
    for t in (r["a"], r["b"]):
        n = norm(t)
        assert n not in seen, ("dup", t, seen[n])
        seen[n] = r["id"]
        if r["lang"] == "en":
            w = len(t.split())
            assert 4 <= w <= 30, (t, w)
        else:
            c = len(t)
            assert 6 <= c <= 40, (t, c)
            assert re.search(r"[\u4e00-\u9fff]", t), t
doms = Counter(r["domain"] for r in sem)
assert len(doms) >= 20, doms

# ---- IP rows
ip_rows = []
groups = {}
for lang, kind, text, vals in IP:
    groups.setdefault((lang, kind), []).append((text, vals))
for k, v in groups.items():
    assert len(v) == 30, (k, len(v))
allip = [(l, k, t, v) for (l, k), items in groups.items() for (t, v) in items]
rng.shuffle(allip)
for i, (lang, kind, text, vals) in enumerate(allip, 1):
    spans = []
    for v in dict.fromkeys(vals):
        ipaddress.IPv4Address(v)
        pat = r"(?<![\d.])" + re.escape(v) + r"(?!\d)(?!\.\d)"
        ms = list(re.finditer(pat, text))
        assert ms, (text, v)
        for m in ms:
            spans.append({"type": "IP_ADDRESS", "start": m.start(), "end": m.end(), "value": v})
    spans.sort(key=lambda s: s["start"])
    assert (kind == "pii") == bool(spans)
    assert 1 <= len(spans) <= 2 or kind == "lookalike"
    ip_rows.append({"id": f"b6-ip-{i:04d}", "text": text, "lang": lang, "kind": kind, "spans": spans})
assert len(ip_rows) == 120
assert len({norm(r["text"]) for r in ip_rows}) == 120

def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

write("semcache-blind6.jsonl", sem)
write("pii-ip-blind6.jsonl", ip_rows)

# ---- re-read validation
for path, n in (("semcache-blind6.jsonl", 380), ("pii-ip-blind6.jsonl", 120)):
    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    assert len(rows) == n
    assert len({r["id"] for r in rows}) == n
    if path.startswith("pii"):
        for r in rows:
            for s in r["spans"]:
                assert r["text"][s["start"]:s["end"]] == s["value"], r
    print(path, hashlib.sha256(open(path, "rb").read()).hexdigest())
print(Counter((r["lang"], r["kind"], r["same"]) for r in sem))
print(Counter((r["lang"], r["kind"]) for r in ip_rows))
print(len(doms), "domains")
