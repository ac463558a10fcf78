#!/usr/bin/env python3
"""Summarise cargo-mutants outcomes as the Markdown table in MUTANTS.md.

    python3 scripts/mutants-summary.py mutants.out.first/outcomes.json mutants.out/outcomes.json

Later files win: a mutant missed by a first run and caught by a re-run (`MUTANTS_ITERATE=1`,
after the tests that kill it were added) counts as caught. Prints the table, then every mutant
still missed.
"""
import collections
import json
import sys

LABELS = {"CaughtMutant": "caught", "MissedMutant": "missed", "Unviable": "unviable", "Timeout": "timeout"}

latest = {}
for path in sys.argv[1:]:
    for o in json.load(open(path))["outcomes"]:
        mutant = o["scenario"]
        if not isinstance(mutant, dict) or "Mutant" not in mutant:
            continue  # the baseline
        m = mutant["Mutant"]
        latest[m["name"]] = (m["file"], LABELS.get(o["summary"], o["summary"]))

per_file = collections.defaultdict(collections.Counter)
for file, outcome in latest.values():
    per_file[file][outcome] += 1
cols = ["caught", "timeout", "unviable", "missed"]
print("| File | Mutants | " + " | ".join(cols) + " |")
print("|---|---:|" + "---:|" * len(cols))
total = collections.Counter()
for file in sorted(per_file):
    c = per_file[file]
    total.update(c)
    print(f"| `{file}` | {sum(c.values())} | " + " | ".join(str(c[k]) for k in cols) + " |")
print(f"| **all** | {sum(total.values())} | " + " | ".join(str(total[k]) for k in cols) + " |")
missed = sorted(n for n, (_, o) in latest.items() if o == "missed")
if missed:
    print("\nStill missed:\n")
    for n in missed:
        print(f"- `{n}`")
