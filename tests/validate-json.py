#!/usr/bin/python3
"""Validate JSON documents, or each line of NDJSON files, against a JSON Schema.

Usage: validate-json.py SCHEMA [--lines] FILE...
Uses python3-jsonschema (Debian) with the validator class the schema names.
Exits 1 and says which file/line and why on the first invalid document.
"""
import json
import sys

import jsonschema


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    schema = json.load(open(args[0], encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    lines = False
    checked = 0
    for path in args[1:]:
        if path == "--lines":
            lines = True
            continue
        with open(path, "rb") as f:
            data = f.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            print(f"{path}: not UTF-8: {e}", file=sys.stderr)
            return 1
        docs = text.splitlines() if lines else [text]
        for n, doc in enumerate(docs, 1):
            where = f"{path}:{n}" if lines else path
            try:
                obj = json.loads(doc)
            except ValueError as e:
                print(f"{where}: not JSON: {e}", file=sys.stderr)
                return 1
            e = jsonschema.exceptions.best_match(validator.iter_errors(obj))
            kind = obj.get("type") if isinstance(obj, dict) else None
            if e is not None and "oneOf" in schema and kind in schema.get("$defs", {}):
                # Say what is wrong with the variant the object claims to be.
                one = {k: v for k, v in schema.items() if k != "oneOf"}
                one["$ref"] = "#/$defs/" + kind
                e = jsonschema.exceptions.best_match(cls(one).iter_errors(obj)) or e
            if e is not None:
                print(f"{where}: invalid at /{'/'.join(map(str, e.path))}: {e.message[:300]}",
                      file=sys.stderr)
                return 1
            checked += 1
    print(f"validate-json: {checked} documents valid against {schema.get('$id', args[0])} "
          f"({cls.__name__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
