# Validate ip-dev.jsonl and print counts + sha256.
import json, re, os, hashlib, collections, sys

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "ip-dev.jsonl")
rows = [json.loads(l) for l in open(path, encoding="utf-8")]
errs = []
QUAD = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d])")

def valid_ip(v):
    parts = v.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 and (p == "0" or not p.startswith("0")) for p in parts)

ids = [r["id"] for r in rows]
if len(set(ids)) != len(ids): errs.append("duplicate ids")
texts = [r["text"] for r in rows]
if len(set(texts)) != len(texts): errs.append("duplicate texts")
keys = {"id", "text", "lang", "kind", "subkind", "spans"}
for r in rows:
    if set(r) != keys: errs.append(f"{r['id']} keys {set(r)}")
    if r["lang"] not in ("en", "zh") or r["kind"] not in ("pii", "lookalike"): errs.append(f"{r['id']} lang/kind")
    t = r["text"]
    for s in r["spans"]:
        if s["type"] != "IP_ADDRESS": errs.append(f"{r['id']} type")
        if t[s["start"]:s["end"]] != s["value"]: errs.append(f"{r['id']} span mismatch {s}")
        if not valid_ip(s["value"]): errs.append(f"{r['id']} invalid ip {s['value']}")
        before = t[s["start"] - 1] if s["start"] > 0 else ""
        after = t[s["end"]:s["end"] + 2]
        if before.isdigit() or before == "." or (after[:1].isdigit()) or (after[:1] == "." and after[1:2].isdigit()):
            errs.append(f"{r['id']} span boundary {s}")
    if r["kind"] == "pii":
        if not 1 <= len(r["spans"]) <= 2: errs.append(f"{r['id']} pii span count")
        marked = {(s["start"], s["end"]) for s in r["spans"]}
        for m in QUAD.finditer(t):
            if (m.start(), m.end()) not in marked: errs.append(f"{r['id']} unmarked quad {m.group()}")
    else:
        if r["spans"]: errs.append(f"{r['id']} lookalike has spans")
    if "⟦" in t or "⟧" in t: errs.append(f"{r['id']} marker left")

c = collections.Counter((r["lang"], r["kind"]) for r in rows)
for lang in ("en", "zh"):
    for kind in ("pii", "lookalike"):
        if c[(lang, kind)] != 60: errs.append(f"count {lang}/{kind} = {c[(lang, kind)]}")
if len(rows) != 240: errs.append(f"total {len(rows)}")

print("total", len(rows))
for k in sorted(c): print(k, c[k])
sc = collections.Counter((r["lang"], r["kind"], r["subkind"]) for r in rows)
for k in sorted(sc): print(*k, sc[k], sep="\t")
print("spans", sum(len(r["spans"]) for r in rows),
      "rows with 2 spans", sum(len(r["spans"]) == 2 for r in rows))
print("lookalike rows with an IPv4-shaped token (all octets<=255):",
      sum(any(valid_ip(m.group()) for m in QUAD.finditer(r["text"])) for r in rows if r["kind"] == "lookalike"))
print("sha256", hashlib.sha256(open(path, "rb").read()).hexdigest())
if errs:
    print("ERRORS:"); print("\n".join(errs)); sys.exit(1)
print("OK")
