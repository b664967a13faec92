#!/usr/bin/python3
"""Check the exports of one profiling run against each other.

Usage: check-export.py --chain a,b,c [--json F] [--pprof F [--pprof-first-mapping M]] [--speedscope F]
                       [--folded F] [--ndjson F] [--html F] [--schema S] [--speedscope-schema S]

Each given file is validated (json and ndjson lines against deferprof's
schema, speedscope against speedscope's, pprof decoded by protoc against
user/output/proto/profile.proto, html as HTML by check-html.py and its data
block against deferprof's schema), the named chain (root first, contiguous) must be
in a stack of each, and the sample totals must be the same in all of them.
Exit 1 with the reason on the first failure.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def fail(msg):
    print(f"check-export: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def validate(schema_path, obj, what):
    schema = json.load(open(schema_path, encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    err = jsonschema.exceptions.best_match(cls(schema).iter_errors(obj))
    if err is not None:
        fail(f"{what}: invalid at /{'/'.join(map(str, err.path))}: {err.message[:200]}")


def has_chain(names, chain):
    n = len(chain)
    return any(names[i:i + n] == chain for i in range(len(names) - n + 1))


def check_doc(doc, chain, what):
    """A deferprof profile object: its stacks' samples and whether the chain is in one."""
    frames = doc["frames"]
    total = 0
    found = False
    for s in doc["stacks"]:
        if s["samples"] != sum(t["samples"] for t in s["threads"]):
            fail(f"{what}: a stack's samples differ from its threads' sum")
        total += s["samples"]
        found |= has_chain([frames[i]["name"] for i in s["frames"]], chain)
    if total != doc["totals"]["samples"]:
        fail(f"{what}: totals.samples {doc['totals']['samples']} != stacks' sum {total}")
    return total, found


def parse_text_proto(text):
    """protoc --decode's text format, as nested dicts of lists."""
    stack = [{}]
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.endswith("{"):
            child = {}
            stack[-1].setdefault(line[:-1].strip(), []).append(child)
            stack.append(child)
        elif line == "}":
            stack.pop()
        else:
            key, val = line.split(":", 1)
            val = val.strip()
            if val.startswith('"'):
                # C-style escapes, octal for non-ASCII bytes
                val = (val[1:-1].encode("latin-1").decode("unicode_escape")
                       .encode("latin-1").decode("utf-8", "replace"))
            elif val in ("true", "false"):
                val = val == "true"
            else:
                val = int(val)
            stack[-1].setdefault(key, []).append(val)
    return stack[0]


def pprof_samples(path, chain, first_mapping=None):
    raw = gzip.open(path).read()
    out = subprocess.run(["protoc", "--decode=perftools.profiles.Profile",
                          "-I" + os.path.join(ROOT, "user/output/proto"), "profile.proto"],
                         input=raw, capture_output=True, check=False)
    if out.returncode:
        fail(f"pprof: protoc cannot decode it: {out.stderr.decode()[:200]}")
    p = parse_text_proto(out.stdout.decode("utf-8"))
    strings = p.get("string_table", [])
    if not strings or strings[0] != "":
        fail("pprof: string_table[0] is not empty")
    maps = p.get("mapping", [])
    if first_mapping is not None:
        first = strings[maps[0]["filename"][0]] if maps else None
        if first != first_mapping:
            fail(f"pprof: the first mapping is {first}, not the main executable {first_mapping}")
    funcs = {f["id"][0]: strings[f["name"][0]] for f in p.get("function", [])}
    locs = {l["id"][0]: funcs[l["line"][0]["function_id"][0]] for l in p.get("location", [])}
    total = 0
    found = False
    for s in p.get("sample", []):
        total += s["value"][0]
        names = [locs[i] for i in reversed(s["location_id"])]
        found |= has_chain(names, chain)
        labels = {strings[l["key"][0]] for l in s.get("label", [])}
        if not {"pid", "tid", "thread"} <= labels:
            fail(f"pprof: a sample lacks pid/tid/thread labels: {labels}")
    return total, found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chain", required=True)
    ap.add_argument("--json")
    ap.add_argument("--ndjson")
    ap.add_argument("--pprof")
    ap.add_argument("--speedscope")
    ap.add_argument("--pprof-first-mapping", help="the module pprof's first mapping must name")
    ap.add_argument("--folded")
    ap.add_argument("--html")
    ap.add_argument("--schema", default=os.path.join(ROOT, "user/output/schema/deferprof.schema.json"))
    ap.add_argument("--speedscope-schema")
    a = ap.parse_args()
    chain = a.chain.split(",")
    totals = {}

    if a.json:
        doc = json.load(open(a.json, encoding="utf-8"))
        validate(a.schema, doc, "json")
        totals["json"], found = check_doc(doc, chain, "json")
        if not found:
            fail(f"json: no stack holds {chain}")
    if a.ndjson:
        lines = open(a.ndjson, encoding="utf-8").read().splitlines()
        if len(lines) < 2:
            fail(f"ndjson: {len(lines)} lines")
        total = 0
        found = False
        for n, line in enumerate(lines, 1):
            obj = json.loads(line)
            validate(a.schema, obj, f"ndjson line {n}")
            if obj["type"] == "interval":
                t, f = check_doc(obj, chain, f"ndjson line {n}")
                total += t
                found |= f
        if json.loads(lines[-1])["type"] != "summary":
            fail("ndjson: the last line is not the summary")
        if json.loads(lines[-1])["totals"]["samples"] != total:
            fail("ndjson: the summary's samples differ from the intervals' sum")
        if not found:
            fail(f"ndjson: no interval holds {chain}")
        totals["ndjson"] = total
    if a.pprof:
        totals["pprof"], found = pprof_samples(a.pprof, chain, a.pprof_first_mapping)
        if not found:
            fail(f"pprof: no sample holds {chain}")
    if a.speedscope:
        doc = json.load(open(a.speedscope, encoding="utf-8"))
        if a.speedscope_schema:
            validate(a.speedscope_schema, doc, "speedscope")
        frames = [f["name"] for f in doc["shared"]["frames"]]
        found = any(has_chain([frames[i] for i in s], chain)
                    for p in doc["profiles"] for s in p["samples"])
        if not found:
            fail(f"speedscope: no sample holds {chain}")
        totals["speedscope"] = sum(sum(p["weights"]) for p in doc["profiles"])
    if a.folded:
        total = 0
        found = False
        for line in open(a.folded, encoding="utf-8", errors="replace"):
            stack, count = line.rstrip("\n").rsplit(" ", 1)
            total += int(count)
            found |= has_chain(stack.split(";"), chain)
        if not found:
            fail(f"folded: no stack holds {chain}")
        totals["folded"] = total
    if a.html:
        r = subprocess.run([sys.executable, os.path.join(HERE, "check-html.py"), a.html],
                           capture_output=True, text=True)
        if r.returncode:
            fail(f"html: {r.stdout.strip()} {r.stderr.strip()}")
        text = open(a.html, encoding="utf-8").read()
        start = text.index('<script type="application/json" id="dp-data">') + 46
        doc = json.loads(text[start:text.index("</script>", start)])
        validate(a.schema, doc, "html's data")
        totals["html"], found = check_doc(doc, chain, "html")
        if not found:
            fail(f"html: no stack holds {chain}")
    if len(set(totals.values())) != 1:
        fail(f"totals differ: {totals}")
    print(f"check-export: {next(iter(totals.values()))} samples in each of "
          f"{', '.join(totals)}; {';'.join(chain)} found in each")


if __name__ == "__main__":
    main()
