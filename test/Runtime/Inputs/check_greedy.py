#!/usr/bin/env python3
"""Checks an s10-run generation JSON against reference.json's greedy ids.

usage: check_greedy.py RUN.json REFERENCE.json N
Passes when the prompt matches and the first N generated ids are equal.
"""
import json
import sys

run = json.load(open(sys.argv[1]))
ref = json.load(open(sys.argv[2]))
n = int(sys.argv[3])
prompt = ref["ref_prompt_ids"]
want = ref["greedy_ids"][:len(prompt) + n]
got = run["ids"][:len(prompt) + n]
print("prompt ids", "match" if got[:len(prompt)] == prompt else "DIFFER")
print("first %d generated ids" % n, "match" if got == want else "DIFFER")
if got != want:
    print("got ", got[len(prompt):])
    print("want", want[len(prompt):])
    sys.exit(1)
