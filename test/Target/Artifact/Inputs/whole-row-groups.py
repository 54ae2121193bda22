"""Rewrites the tiny decoder's bitmap `down` weight (8x16, groups of 8) to
one group of 16 per row, keeping each row's first group parameters, so that
the AVX-512 masked-sum GEMV (groups of whole 16-column blocks) serves it."""
import re
import sys

text = open(sys.argv[1]).read()
lines = text.split("\n")
out = []
for line in lines:
    if "%qwd = squeeze.quantized_weight" in line:
        for name in ("scales", "offsets", "salient_scales", "salient_offsets"):
            m = re.search(r"\b%s = dense<(\[\[.*?\]\])> : tensor<8x2xf32>" % name,
                          line)
            assert m, name
            rows = re.findall(r"\[([^\[\]]*)\]", m.group(1))
            firsts = "[" + ", ".join("[%s]" % r.split(",")[0].strip()
                                     for r in rows) + "]"
            line = line.replace(m.group(0), "%s = dense<%s> : tensor<8x1xf32>"
                                % (name, firsts))
        line = line.replace("group_size = 8", "group_size = 16")
    if "%qwd {" in line or "%qwd :" in line or "squeeze.quantized_linear %s, %qwd" in line:
        line = line.replace("group_size = 8", "group_size = 16")
    out.append(line)
sys.stdout.write("\n".join(out))
