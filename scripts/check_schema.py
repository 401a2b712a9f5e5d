#!/usr/bin/env python3
"""Checks lesson outputs against docs/schema: check_schema.py FOLDER... (each a lesson's output folder).

Validates FOLDER/summary.json against summary.schema.json and, when present, FOLDER/history.json against
history.schema.json, plus what a schema cannot say: every history list as long as 'epoch', and 'epoch' being
1, 2, 3, ...  Exit status: 0 all valid, 1 something invalid (one line per problem), 2 bad usage or unreadable
file, 77 the jsonschema package is missing (the Swift test then skips).
"""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    print("check_schema.py: the jsonschema package is missing (python3 -m pip install jsonschema)", file=sys.stderr)
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"check_schema.py: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)


def errors(schema, document, path):
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    found = [f"{path}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
             for e in sorted(cls(schema).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]
    return found


def history_errors(history, path):
    if not isinstance(history, dict) or not isinstance(history.get("epoch"), list):
        return []
    n = len(history["epoch"])
    found = [f"{path}: '{k}' has {len(v)} entries, 'epoch' has {n}" for k, v in sorted(history.items())
             if isinstance(v, list) and len(v) != n]
    if history["epoch"] != list(range(1, n + 1)):
        found.append(f"{path}: 'epoch' is not 1, 2, ..., {n}")
    return found


def main(folders):
    if not folders:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    summary_schema = load(os.path.join(ROOT, "docs/schema/summary.schema.json"))
    history_schema = load(os.path.join(ROOT, "docs/schema/history.schema.json"))
    problems = []
    for folder in folders:
        summary = os.path.join(folder, "summary.json")
        problems += errors(summary_schema, load(summary), summary)
        history = os.path.join(folder, "history.json")
        if os.path.exists(history):
            document = load(history)
            problems += errors(history_schema, document, history) + history_errors(document, history)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
