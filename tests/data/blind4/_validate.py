"""Validate the blind4 files against the brief."""
import collections
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
errors = []


def norm(s):
    s = unicodedata.normalize("NFKC", s).lower()
    return "".join(ch for ch in s if not (unicodedata.category(ch).startswith("P")
                                          or unicodedata.category(ch).startswith("S")
                                          or ch.isspace()))


def load(name):
    rows = []
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                rows.append(json.loads(line))
            except Exception as e:  # noqa: BLE001
                errors.append(f"{name}:{n} parse error {e}")
    return rows


# ---- semcache
sem = load("semcache-blind4.jsonl")
KINDS = ["paraphrase", "number", "negation", "entity", "scope", "direction", "polarity", "related"]
want = {("en", "paraphrase"): 120, ("zh", "paraphrase"): 80}
for k in KINDS[1:]:
    want[("en", k)] = 10
    want[("zh", k)] = 10
cnt = collections.Counter((r["lang"], r["kind"]) for r in sem)
if dict(cnt) != want:
    errors.append(f"sem counts {dict(cnt)}")
if len(sem) != 340:
    errors.append(f"sem total {len(sem)}")
ids = [r["id"] for r in sem]
if len(set(ids)) != len(ids):
    errors.append("sem dup ids")
for r in sem:
    if set(r) != {"id", "a", "b", "same", "lang", "kind", "domain"}:
        errors.append(f"{r['id']} keys {sorted(r)}")
    if not re.fullmatch(rf"b4-{r['lang']}-\d{{4}}", r["id"]):
        errors.append(f"bad id {r['id']}")
    if r["same"] != (r["kind"] == "paraphrase"):
        errors.append(f"{r['id']} same/kind mismatch")
    for q in (r["a"], r["b"]):
        if r["lang"] == "en":
            w = len(q.split())
            if not 4 <= w <= 30:
                errors.append(f"{r['id']} en word count {w}: {q}")
            if re.search(r"[\u4e00-\u9fff]", q):
                errors.append(f"{r['id']} CJK in en")
        else:
            c = len(re.sub(r"\s", "", q))
            if not 6 <= c <= 40:
                errors.append(f"{r['id']} zh char count {c}: {q}")
            if not re.search(r"[\u4e00-\u9fff]", q):
                errors.append(f"{r['id']} no CJK in zh")
    if norm(r["a"]) == norm(r["b"]):
        errors.append(f"{r['id']} a==b")
texts = collections.Counter(norm(q) for r in sem for q in (r["a"], r["b"]))
for t, c in texts.items():
    if c > 1:
        errors.append(f"duplicate question text: {t}")
doms = collections.Counter(r["domain"] for r in sem)
if len(doms) < 20:
    errors.append(f"only {len(doms)} domains")

# ---- ip
ip = load("pii-ip-blind4.jsonl")
IPRE = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)")
cnt_ip = collections.Counter((r["lang"], r["kind"]) for r in ip)
want_ip = {("en", "pii"): 25, ("en", "lookalike"): 25, ("zh", "pii"): 25, ("zh", "lookalike"): 25}
if dict(cnt_ip) != want_ip:
    errors.append(f"ip counts {dict(cnt_ip)}")
ipids = [r["id"] for r in ip]
if len(set(ipids)) != len(ipids) or len(ip) != 100:
    errors.append("ip ids/total")
if len(set(norm(r["text"]) for r in ip)) != len(ip):
    errors.append("ip dup texts")
review = []
for r in ip:
    if set(r) != {"id", "text", "lang", "kind", "spans"}:
        errors.append(f"{r['id']} keys")
    t = r["text"]
    if r["kind"] == "lookalike" and r["spans"]:
        errors.append(f"{r['id']} lookalike with spans")
    if r["kind"] == "pii" and not 1 <= len(r["spans"]) <= 2:
        errors.append(f"{r['id']} pii span count {len(r['spans'])}")
    if r["lang"] == "zh" and not re.search(r"[\u4e00-\u9fff]", t):
        errors.append(f"{r['id']} zh without CJK")
    for s in r["spans"]:
        if s["type"] != "IP_ADDRESS" or t[s["start"]:s["end"]] != s["value"]:
            errors.append(f"{r['id']} span mismatch {s}")
        parts = s["value"].split(".")
        if len(parts) != 4 or not all(p.isdigit() and 0 <= int(p) <= 255 for p in parts):
            errors.append(f"{r['id']} invalid IPv4 {s['value']}")
    # any strictly-valid dotted quad not covered by a span -> print for manual review
    spanset = {(s["start"], s["end"]) for s in r["spans"]}
    for m in IPRE.finditer(t):
        if all(0 <= int(g) <= 255 for g in m.groups()) and (m.start(), m.end()) not in spanset:
            review.append(f"{r['id']} [{r['kind']}] uncovered dotted quad {m.group(0)!r}")
zh_touch = sum(1 for r in ip if r["lang"] == "zh" and any(
    (s["start"] > 0 and re.match(r"[\u4e00-\u9fff]", r["text"][s["start"] - 1]))
    or (s["end"] < len(r["text"]) and re.match(r"[\u4e00-\u9fff]", r["text"][s["end"]]))
    for s in r["spans"]))
ports = sum(1 for r in ip for s in r["spans"] if r["text"][s["end"]:s["end"] + 1] == ":")

print("semcache counts:", dict(sorted(cnt.items())), "total", len(sem))
print("domains:", len(doms), dict(doms))
print("ip counts:", dict(sorted(cnt_ip.items())), "total", len(ip))
print("zh pii rows with IP touching CJK:", zh_touch, "| spans followed by :port:", ports)
print("spans total:", sum(len(r["spans"]) for r in ip))
for x in review:
    print("REVIEW:", x)
if errors:
    print("ERRORS:")
    for e in errors:
        print("  ", e)
    sys.exit(1)
print("OK")
