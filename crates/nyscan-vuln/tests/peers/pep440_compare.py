"""Differential-test peer: PEP 440 order by `packaging.version.Version`.

Reads "A<TAB>B" lines on stdin, writes "<", "=", ">" or "E reason".
"""
import sys

from packaging.version import InvalidVersion, Version

for line in sys.stdin:
    a, sep, b = line.rstrip("\n").partition("\t")
    if not sep:
        continue
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion as e:
        print("E", str(e).replace("\n", " "))
        continue
    print("<" if va < vb else ">" if va > vb else "=")
