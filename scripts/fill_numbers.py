#!/usr/bin/env python3
"""Refill the run-produced numbers in lessons' READMEs from their runs' summary.json.

    python3 scripts/fill_numbers.py [LESSON ...]     (default: every lessons/NN-name with an output/NN-name/summary.json)

A README quotes a number from its run as `90.1<!--=test_accuracy:p1-->` (see Sources/Support/SummaryMarkers.swift).
The site fills these in when it renders a page, so the site is always right; the README itself, as GitHub and
an editor show it, keeps whatever was written. After a lesson reruns, this rewrites each literal in front of a
marker as the site would show it, and prints what changed (key: old -> new).

Formats, as SummaryMarkers.format: fN (N decimals), pN (percent, N decimals), sN (N significant digits, %g),
eN (mantissa x 10^exponent), int (rounded, thousands separated), none (the number as JSON has it). A marker
whose key is missing is reported and left alone.

make reruns a lesson when its README is newer than its summary.json. Refilling numbers from that very run is not
a reason to rerun it, so a README that was not newer than its summary.json before is given the summary's
modification time again after the rewrite (a README edited by hand since the run stays newer, and reruns).
"""
import json
import math
import os
import re
import sys

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
NUMBER = r"-?[0-9][0-9,]*(?:\.[0-9]+)?(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?"
MARKER = re.compile(r"(" + NUMBER + r")<!--=([^:>]*?)(?::([a-z]+[0-9]*))?-->")


def value_at(summary, key):
    node = summary
    for part in re.findall(r"[^.\[\]]+|\[-?\d+\]", key):
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise KeyError(key)
    return float(node)


def fmt(v, f):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if f is None:
        return str(int(v)) if v == round(v) and abs(v) < 1e15 else repr(v)
    kind, digits = re.match(r"([a-z]+)([0-9]*)", f).groups()
    n = int(digits) if digits else None
    if kind == "f" and n is not None:
        return f"{v:.{n}f}"
    if kind == "p" and n is not None:
        return f"{100 * v:.{n}f}"
    if kind == "s" and n is not None:
        return f"{v:.{n}g}"
    if kind == "int" and n is None:
        return f"{round(v):,}"
    if kind == "e" and n is not None:
        if v == 0:
            return f"{0:.{n}f}"
        exponent = math.floor(math.log10(abs(v)))
        mantissa = f"{v / 10 ** exponent:.{n}f}"
        if abs(float(mantissa)) >= 10:
            exponent += 1
            mantissa = f"{v / 10 ** exponent:.{n}f}"
        return f"{mantissa} × 10{str(exponent).translate(SUPERSCRIPT)}"
    raise ValueError(f"unknown number format '{f}'")


def fill(readme, summary_path):
    summary = json.load(open(summary_path))
    text = open(readme, encoding="utf-8").read()
    changes = []

    def sub(m):
        literal, key, f = m.group(1), m.group(2), m.group(3)
        try:
            new = fmt(value_at(summary, key), f)
        except (KeyError, IndexError, TypeError):
            print(f"{readme}: summary.json has no number at '{key}' (left as {literal})")
            return m.group(0)
        if new != literal:
            changes.append(f"{key}: {literal} -> {new}")
        return new + m.group(0)[len(literal):]

    filled = MARKER.sub(sub, text)
    if filled == text:
        return changes
    was_current = os.path.getmtime(readme) <= os.path.getmtime(summary_path)
    temporary = readme + ".tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(filled)
    os.replace(temporary, readme)
    if was_current:
        stamp = os.path.getmtime(summary_path)
        os.utime(readme, (stamp, stamp))
    return changes


def main(args):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lessons = args or sorted(d for d in os.listdir(os.path.join(root, "lessons")) if re.match(r"\d\d-", d))
    for lesson in lessons:
        name = os.path.basename(lesson.rstrip("/"))
        readme = os.path.join(root, "lessons", name, "README.md")
        summary = os.path.join(root, "output", name, "summary.json")
        if not os.path.exists(readme):
            sys.exit(f"fill_numbers: no lesson '{name}' (lessons/{name}/README.md is missing)")
        if not os.path.exists(summary):
            print(f"{name}: no run yet (output/{name}/summary.json is missing); run make first")
            continue
        for change in fill(readme, summary):
            print(f"{name}: {change}")


if __name__ == "__main__":
    main(sys.argv[1:])
