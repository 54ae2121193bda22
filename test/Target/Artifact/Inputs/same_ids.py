#!/usr/bin/env python3
"""Checks that two s10-run generation JSON files hold the same ids.

usage: same_ids.py A.json B.json
"""
import json
import sys

a = json.load(open(sys.argv[1]))["ids"]
b = json.load(open(sys.argv[2]))["ids"]
print("ids", a, "match" if a == b else "DIFFER from %s" % b)
sys.exit(0 if a == b else 1)
