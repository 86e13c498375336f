import json, os, re, unicodedata, collections, ipaddress, hashlib

HERE = os.path.dirname(os.path.abspath(__file__))
errors = []


def norm(s):
    s = unicodedata.normalize("NFKC", s).lower()
    return "".join(ch for ch in s if not (unicodedata.category(ch)[0] in "PSZ" or ch.isspace()))


# --- semcache
rows = [json.loads(l) for l in open(os.path.join(HERE, "semcache-blind5.jsonl"), encoding="utf-8")]
keys = {"id", "a", "b", "same", "lang", "kind", "domain"}
ids = set()
texts = collections.Counter()
cnt = collections.Counter()
domains = set()
for r in rows:
    if set(r) != keys:
        errors.append(("keys", r["id"]))
    if r["id"] in ids:
        errors.append(("dup id", r["id"]))
    ids.add(r["id"])
    if not r["id"].startswith(f"b5-{r['lang']}-"):
        errors.append(("id/lang", r["id"]))
    if (r["kind"] == "paraphrase") != r["same"]:
        errors.append(("same/kind", r["id"]))
    cnt[(r["lang"], r["kind"])] += 1
    domains.add(r["domain"])
    for k in ("a", "b"):
        t = r[k]
        texts[norm(t)] += 1
        if r["lang"] == "en":
            n = len(t.split())
            if not 4 <= n <= 30:
                errors.append(("en len", r["id"], n, t))
            if re.search(r"[\u4e00-\u9fff]", t):
                errors.append(("en has cjk", r["id"]))
        else:
            n = len(t)
            if not 6 <= n <= 40:
                errors.append(("zh len", r["id"], n, t))
            if not re.search(r"[\u4e00-\u9fff]", t):
                errors.append(("zh no cjk", r["id"]))
    if norm(r["a"]) == norm(r["b"]):
        errors.append(("a==b", r["id"]))
for t, c in texts.items():
    if c > 1:
        errors.append(("dup text", t, c))
expected = {("en", "paraphrase"): 120, ("zh", "paraphrase"): 80, ("zh", "related"): 30}
for k in ("number", "negation", "entity", "scope", "direction", "polarity"):
    expected[("en", k)] = 10
    expected[("zh", k)] = 10
expected[("en", "related")] = 10
if dict(cnt) != expected:
    errors.append(("counts", dict(cnt)))
if len(rows) != 360:
    errors.append(("total", len(rows)))
if len(domains) < 20:
    errors.append(("domains", len(domains)))
for lang in ("en", "zh"):
    n = sum(1 for r in rows if r["lang"] == lang)
    want = {f"b5-{lang}-{i:04d}" for i in range(1, n + 1)}
    if want != {r["id"] for r in rows if r["lang"] == lang}:
        errors.append(("id seq", lang))

# --- ip
ip = [json.loads(l) for l in open(os.path.join(HERE, "pii-ip-blind5.jsonl"), encoding="utf-8")]
ipcnt = collections.Counter()
ipids = set()
iptexts = set()
quad = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d])(?!\.\d)")
for r in ip:
    if set(r) != {"id", "text", "lang", "kind", "spans"}:
        errors.append(("ip keys", r["id"]))
    if r["id"] in ipids:
        errors.append(("ip dup id", r["id"]))
    ipids.add(r["id"])
    n = norm(r["text"])
    if n in iptexts:
        errors.append(("ip dup text", r["id"]))
    iptexts.add(n)
    ipcnt[(r["lang"], r["kind"])] += 1
    if r["kind"] == "pii":
        if not 1 <= len(r["spans"]) <= 2:
            errors.append(("ip nspans", r["id"]))
    elif r["spans"]:
        errors.append(("lookalike spans", r["id"]))
    if r["lang"] == "zh" and not re.search(r"[\u4e00-\u9fff]", r["text"]):
        errors.append(("ip zh no cjk", r["id"]))
    for s in r["spans"]:
        if r["text"][s["start"]:s["end"]] != s["value"] or s["type"] != "IP_ADDRESS":
            errors.append(("span mismatch", r["id"]))
        ipaddress.IPv4Address(s["value"])
    if r["kind"] == "lookalike":
        # record four-part numbers present (informational); none may be a labelled span
        pass
if dict(ipcnt) != {("en", "pii"): 30, ("en", "lookalike"): 30, ("zh", "pii"): 30, ("zh", "lookalike"): 30}:
    errors.append(("ip counts", dict(ipcnt)))
if ipids != {f"b5-ip-{i:04d}" for i in range(1, 121)}:
    errors.append(("ip id seq",))
# every lookalike must contain a dotted four-or-more part number
for r in ip:
    if r["kind"] == "lookalike" and not re.search(r"\d+\.\d+\.\d+\.\d+", r["text"]):
        errors.append(("lookalike lacks quad", r["id"]))

print("errors:", errors if errors else "none")
print("semcache counts:", sorted(cnt.items()))
print("domains:", len(domains))
print("ip counts:", sorted(ipcnt.items()))
for fn in ("semcache-blind5.jsonl", "pii-ip-blind5.jsonl"):
    print(fn, hashlib.sha256(open(os.path.join(HERE, fn), "rb").read()).hexdigest())
