#!/usr/bin/env python3
"""Checks one deferprof page (-f html, deferprof diff -f html) as HTML.

    tests/check-html.py FILE.html

The HTML5 doctype first, every element closed in order (void elements
aside), the scripts inline (no src, no link, no url the page would fetch),
and the data block valid JSON. Prints "ok: N elements, M scripts, data TYPE"
and exits 0, or prints why and exits 1.
"""
import json
import re
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors = [], []
        self.elements = self.scripts = 0
        self.data, self.in_data = [], False
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements += 1
        if a.get("id"):
            if a["id"] in self.ids:
                self.errors.append(f"id {a['id']} twice")
            self.ids.add(a["id"])
        for k in ("src", "href"):
            if k in a:
                self.errors.append(f"<{tag} {k}={a[k]!r}>: the page must fetch nothing")
        if tag == "script":
            self.scripts += 1
            self.in_data = a.get("id") == "dp-data"
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            top = self.stack[-1] if self.stack else ("nothing", (0, 0))
            self.errors.append(f"</{tag}> at line {self.getpos()[0]} closes <{top[0]}> of line {top[1][0]}")
            return
        self.stack.pop()
        if tag == "script":
            self.in_data = False

    def handle_data(self, data):
        if self.in_data:
            self.data.append(data)


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    errors = []
    if not text.startswith("<!DOCTYPE html>\n"):
        errors.append("no HTML5 doctype first")
    if not re.search(r'<meta charset="utf-8">', text):
        errors.append("no utf-8 charset")
    c = Checker()
    c.feed(text)
    c.close()
    errors += c.errors
    if c.stack:
        errors.append("unclosed: " + ", ".join(f"<{t}> of line {p[0]}" for t, p in c.stack))
    try:
        data = json.loads("".join(c.data))
        kind = data.get("type")
    except ValueError as e:
        errors.append(f"the data block is not JSON: {e}")
        kind = None
    if errors:
        print("\n".join(errors))
        return 1
    print(f"ok: {c.elements} elements, {c.scripts} scripts, data {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
