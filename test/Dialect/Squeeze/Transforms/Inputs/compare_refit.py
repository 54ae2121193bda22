"""Compares two squeeze10-quantize reports of the same recipe, without and
with output-refit: the layers must be the same, every layer of the second
must have refit rows, and its relative output error on the calibration data
must not exceed the first's (0.1 % slack: the refit minimises the error under
the damped H, the report measures it under the undamped one)."""
import json
import sys

plain = json.load(open(sys.argv[1]))["layers"]
refit = json.load(open(sys.argv[2]))["layers"]
assert [l["layer"] for l in plain] == [l["layer"] for l in refit], "layers differ"
worse = [b["layer"] for a, b in zip(plain, refit)
         if b["relative_output_error"] > a["relative_output_error"] * 1.001]
rows = sum(1 for l in refit if l.get("refit_rows", 0) > 0)
mean = sum(b["relative_output_error"] / a["relative_output_error"]
           for a, b in zip(plain, refit)) / len(plain)
print(f"{len(refit)} layers, {rows} refit; worse: {', '.join(worse) or 'none'}; "
      f"mean error ratio {'below' if mean < 1 else 'not below'} 1")
