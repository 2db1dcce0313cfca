"""Differential-test peer: CVSS base scores by Red Hat's `cvss` package (pip install cvss).

Reads one vector per line on stdin, writes its base score or "E reason".
"""
import sys

from cvss import CVSS2, CVSS3, CVSS4

for line in sys.stdin:
    vector = line.rstrip("\n")
    try:
        if vector.startswith("CVSS:4."):
            score = CVSS4(vector).base_score
        elif vector.startswith("CVSS:3."):
            score = CVSS3(vector).base_score
        else:
            score = CVSS2(vector).base_score
        print(f"{float(score):.1f}")
    except Exception as e:  # the library raises several error types
        print("E", str(e).replace("\n", " "))
