#!/usr/bin/env python3
"""Helpers for bench/mount.sh (not meant to be run by hand).

    mount-helper.py regbytes LOG START END
        Sum the docker-registry log lines `msg="response completed..."` between byte
        offsets START and END of LOG. Prints `REQUESTS BYTES BLOB_GETS BLOB_BYTES MAX_BLOB_GET`
        (BYTES is the sum of http.response.written, i.e. body bytes sent, all requests).

    mount-helper.py readall DIR
        Read every regular file under DIR (sorted walk, no symlinks followed) and print
        `FILES BYTES DIGEST`, DIGEST being a sha256 over each file's relative path and
        contents. Used both to time "read every small file" and to check it.

    mount-helper.py report RESULTS META
        Print the final table from the tab-separated RESULTS rows
        `tool run phase seconds requests bytes blob_gets blob_bytes max_get vmhwm_kib` and META
        (`key=value` lines).
"""

import hashlib
import os
import re
import statistics
import sys

FIELD = re.compile(r'(\S+?)=("(?:[^"\\]|\\.)*"|\S+)')


def regbytes(log, start, end):
    with open(log, "rb") as f:
        f.seek(start)
        text = f.read(end - start).decode("utf-8", "replace")
    reqs = total = blob_gets = blob_bytes = max_get = 0
    for line in text.splitlines():
        if 'msg="response completed' not in line:
            continue
        fields = {k: v.strip('"') for k, v in FIELD.findall(line)}
        written = int(fields.get("http.response.written", "0"))
        reqs += 1
        total += written
        uri = fields.get("http.request.uri", "")
        if fields.get("http.request.method") == "GET" and "/blobs/" in uri:
            blob_gets += 1
            blob_bytes += written
            max_get = max(max_get, written)
    print(reqs, total, blob_gets, blob_bytes, max_get)


def readall(top):
    h = hashlib.sha256()
    files = total = 0
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            h.update(os.path.relpath(path, top).encode("utf-8", "surrogateescape") + b"\0")
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)
            files += 1
            total += len(data)
    print(files, total, h.hexdigest())


def human(n):
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def report(results, meta_path):
    meta = {}
    with open(meta_path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    rows = {}
    with open(results) as f:
        for line in f:
            tool, run, phase, *nums = line.split()
            rows.setdefault((tool, phase), []).append([float(x) for x in nums])
    tools = [t for t in meta["tools"].split(",") if t]
    peer = "nydusd" if "nydusd" in tools else None
    big_mib = int(meta["big_bytes"]) / (1 << 20)
    phases = [
        ("mount", "mount until visible"),
        ("walk", "tree walk + stat"),
        ("big", "sequential read of big"),
        ("small", "read every small file"),
    ]

    def med(tool, phase, i):
        vals = [r[i] for r in rows.get((tool, phase), [])]
        return statistics.median(vals) if vals else None

    w = 100
    print("=" * w)
    print(f"nyscan mount benchmark: {meta['big_desc']}, tree of {meta['tree_desc']}")
    print(f"machine:   {meta['machine']}")
    print(f"image:     {meta['image_desc']}")
    print(f"registry:  {meta['registry']}")
    for t in tools:
        print(f"{t + ':':10} {meta['cmd_' + t]}")
    if not peer:
        print(f"nydusd:    skipped ({meta.get('nydusd_skip', 'not installed')})")
    print(f"runs:      {meta['runs']} rounds; each phase on its own fresh mount (no cache or a fresh "
          f"one), page cache {meta['drop']}; median shown")
    print("columns:   reqs/registry bytes/max GET: what the registry served during the phase (its log);")
    print("           VmHWM: peak RSS of the serving process at the end of the phase; ratios: tool/nydusd")
    print()
    print(f"{'phase':24} {'tool':13} {'wall':>10} {'MiB/s':>8} {'ratio':>6}"
          f" {'reqs':>6} {'registry bytes':>14} {'max GET':>10} {'VmHWM':>10} {'ratio':>6}")
    for phase, label in phases:
        for tool in tools:
            secs = med(tool, phase, 0)
            if secs is None:
                continue
            reqs, nbytes, _gets, _bb, maxget, hwm = (med(tool, phase, i) for i in range(1, 7))
            rate = f"{big_mib / secs:8.1f}" if phase == "big" and secs > 0 else f"{'':8}"
            ratio = rss_ratio = "-"
            if tool == peer:
                ratio = rss_ratio = "1"
            elif peer and med(peer, phase, 0):
                ratio = f"{secs / med(peer, phase, 0):.2f}"
                if hwm and med(peer, phase, 6):
                    rss_ratio = f"{hwm / med(peer, phase, 6):.2f}"
            rss = f"{hwm / 1024:6.1f} MiB" if hwm else f"{'-':>10}"
            if phase == "mount":
                rss = rss_ratio = ""
            print(f"{label:24} {tool:13} {secs * 1000:8.0f} ms {rate} {ratio:>6}"
                  f" {reqs:6.0f} {nbytes:14,.0f} {human(maxget):>10} {rss:>10} {rss_ratio:>6}".rstrip())
        print()
    print("checks: " + meta.get("checks", ""))
    print("=" * w)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "regbytes" and len(sys.argv) == 5:
        regbytes(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "readall" and len(sys.argv) == 3:
        readall(sys.argv[2])
    elif cmd == "report" and len(sys.argv) == 4:
        report(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
