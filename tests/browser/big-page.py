#!/usr/bin/env python3
"""A deferprof page holding N distinct stacks, to measure how fast it opens.

    tests/browser/big-page.py PAGE.html N OUT.html

Takes a page deferprof wrote (-f html) and puts in its data block a
deferprof json document of N distinct stacks, 12 to 40 frames deep, over
3,000 function names in 4 threads: the shape of a large real profile, made
here because no workload on a test machine gives 100,000 stacks in seconds.
The page's script reads only that block, so the rest of the page is as
deferprof wrote it.
"""
import json
import random
import sys


def main():
    page, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rnd = random.Random(16)
    frames = [{"name": "main", "module": "big", "build_id": None, "address": "0x1000",
               "kernel": False, "inlined": False, "marker": False, "file": "big.c", "line": 1}]
    for i in range(1, 3000):
        kernel = i > 2600
        frames.append({"name": f"{'k' if kernel else 'fn'}_{i:04d}",
                       "module": "[kernel]" if kernel else "big", "build_id": None,
                       "address": hex(0x1000 + 16 * i), "kernel": kernel, "inlined": False,
                       "marker": False, "file": None if kernel else "big.c",
                       "line": None if kernel else i})
    stacks, seen = [], set()
    while len(stacks) < n:
        depth = rnd.randint(12, 40)
        # callers drawn from a narrow set near the root, a wide one near the leaf: a real tree's shape
        path = [0] + [rnd.randint(1, min(2600, 4 + 60 * d)) for d in range(depth - 4)]
        path += [rnd.randint(2601, 2999) for _ in range(4)] if rnd.random() < 0.3 else \
            [rnd.randint(1, 2600) for _ in range(4)]
        key = tuple(path)
        if key in seen:
            continue
        seen.add(key)
        c = rnd.choice((1, 1, 1, 2, 3, 5, 8, 40))
        t = rnd.randint(0, 3)
        stacks.append({"frames": path, "samples": c, "threads": [{"thread": t, "samples": c}]})
    stacks.sort(key=lambda s: -s["samples"])
    threads = [{"pid": 10, "tid": 10 + i, "name": f"big-{i}",
                "samples": sum(s["samples"] for s in stacks if s["threads"][0]["thread"] == i)}
               for i in range(4)]
    total = sum(s["samples"] for s in stacks)
    text = open(page, encoding="utf-8").read()
    start = text.index('<script type="application/json" id="dp-data">') + 46
    doc = json.loads(text[start:text.index("</script>", start)])
    doc["totals"].update(samples=total, bpf_samples=total, dropped=0, user_stack_lost=0,
                         stacks=len(stacks), frames=len(frames), threads=len(threads))
    doc["metadata"]["target"]["description"] = f"{n} distinct stacks (tests/browser/big-page.py)"
    doc.update(threads=threads, frames=frames, stacks=stacks)
    data = json.dumps(doc, separators=(",", ":")).replace("<", "\\u003c")
    end = text.index("</script>", start)
    open(out, "w", encoding="utf-8").write(text[:start] + "\n" + data + "\n" + text[end:])
    print(f"{out}: {len(stacks)} stacks, {total} samples, {len(data)} bytes of data")


if __name__ == "__main__":
    main()
