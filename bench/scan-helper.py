#!/usr/bin/env python3
"""Helpers for bench/scan.sh (not meant to be run by hand).

    scan-helper.py cdx FILE PACKAGE
        Read a CycloneDX JSON document and print `LIBRARIES VERSION`: the number of library
        components, and the version of the component named PACKAGE (`-` when absent).

    scan-helper.py nyscan-stats FILE
        Read the stderr of `nyscan sbom --stats` and print `REQUESTS BYTES CACHED`: the range
        requests and bytes of the chunk engine, and the pairs answered by the scan cache.

    scan-helper.py report RESULTS META
        Print the final table from the tab-separated RESULTS rows
        `row run seconds requests bytes blob_gets blob_bytes max_get proxy_requests libraries
        version engine_requests engine_bytes cached` and META (`key=value` lines).
"""

import json
import re
import statistics
import sys


def cdx(path, package):
    with open(path) as f:
        bom = json.load(f)
    components = bom.get("components") or []
    libraries = [c for c in components if c.get("type") == "library"]
    versions = sorted({c.get("version", "") for c in libraries if c.get("name") == package})
    print(len(libraries), ",".join(versions) or "-")


def nyscan_stats(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    m = re.search(r"fetched: (\d+) requests, (\d+) bytes", text)
    c = re.search(r"(\d+) answered by the scan cache", text)
    if not m:
        sys.exit(f"no 'fetched:' line in {path}")
    print(m.group(1), m.group(2), c.group(1) if c else 0)


def human(n):
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


# Rows in the order they are printed: (key, label).
ROWS = [
    ("trivy-cold", "trivy image, cold (fresh cache)"),
    ("trivy-warm", "trivy image, warm (same image again)"),
    ("trivy-sibling", "trivy image, sibling tag (warm cache)"),
    ("nydusd-trivy", "nydusd mount + trivy rootfs, cold"),
    ("nyscan-cold", "nyscan sbom, cold (fresh caches)"),
    ("nyscan-warm", "nyscan sbom, warm (same image again)"),
    ("nyscan-sibling", "nyscan sbom, sibling tag (warm caches)"),
    ("nyscan-sibling-sc", "nyscan sbom, sibling, scan cache only"),
]


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
            p = line.rstrip("\n").split("\t")
            if len(p) < 14:
                continue
            rows.setdefault(p[0], []).append(p)

    def med(key, col, cast=float):
        vals = [cast(p[col]) for p in rows.get(key, [])]
        return statistics.median(vals) if vals else None

    nydus_blobs = int(meta["nydus_blob_bytes"])
    oci_blobs = int(meta["oci_blob_bytes"])
    peer = med("trivy-cold", 2)
    peer_bytes = med("trivy-cold", 4)
    width = 100
    print("=" * width)
    print(f"nyscan scan benchmark: {meta['tree_desc']}")
    print(f"machine:   {meta['machine']}")
    print(f"link:      {meta['link']}")
    print(f"registry:  {meta['registry']}")
    print(f"images:    OCI v1 twin: {meta['oci_desc']}")
    print(f"           Nydus:       {meta['nydus_desc']}")
    print(f"sibling:   {meta['sibling_desc']}")
    print(f"trivy:     {meta['trivy']}")
    print(f"nydusd:    {meta['nydusd']}")
    print(f"nyscan:    {meta['nyscan']}")
    print(f"runs:      {meta['runs']} rounds, tools alternating; median shown")
    print("columns:   reqs/bytes: what the registry served for the row (its log; every request went")
    print("           through the shaping proxy: its log counts the same); % blobs: bytes over the")
    print("           image's blob bytes (OCI v1 twin for trivy rows, Nydus image for the others);")
    print("           engine: nyscan's own count of range requests/bytes of chunk data (no manifest,")
    print("           no bootstrap layer); cached: pairs answered by the scan cache; ratios: to trivy image cold")
    print()
    head = f"{'row':<40} {'wall':>8} {'ratio':>6} {'reqs':>5} {'bytes':>11} {'% blobs':>8} {'ratio':>6} {'libs':>5}  {'engine':>18} {'cached':>6}"
    print(head)
    for key, label in ROWS:
        if key not in rows:
            skip = meta.get(f"skip_{key}")
            if skip:
                print(f"{label:<40} {'-':>8}  ({skip})")
            continue
        wall = med(key, 2)
        reqs = med(key, 3)
        byts = med(key, 4)
        blobs = oci_blobs if key.startswith("trivy") else nydus_blobs
        libs = rows[key][-1][9]
        ratio = f"{wall / peer:.3f}" if peer else "-"
        bratio = f"{byts / peer_bytes:.4f}" if peer_bytes else "-"
        if key.startswith("nyscan"):
            engine = f"{med(key, 11):.0f} / {human(med(key, 12))}"
            cached = f"{med(key, 13):.0f}"
        else:
            engine, cached = "-", "-"
        print(
            f"{label:<40} {wall * 1000:>6.0f}ms {ratio:>6} {reqs:>5.0f} {human(byts):>11} "
            f"{byts * 100 / blobs:>7.2f}% {bratio:>6} {libs:>5}  {engine:>18} {cached:>6}"
        )
    print()
    print(f"checks: {meta['checks']}")
    cold = med("nyscan-cold", 2)
    cold_bytes = med("nyscan-cold", 4)
    cold_engine = med("nyscan-cold", 12)
    sib_bytes = med("nyscan-sibling", 4)
    sib_engine = med("nyscan-sibling", 12)
    print("goals:")
    if cold_bytes is not None:
        share = cold_bytes * 100 / nydus_blobs
        print(
            f"  nyscan cold bytes < 5 % of the image's blob bytes: {human(cold_bytes)} of "
            f"{human(nydus_blobs)} = {share:.2f} % -> {'met' if share < 5 else 'MISSED'}"
        )
    if cold is not None and peer:
        r = cold / peer
        print(
            f"  nyscan cold wall < 0.1x trivy image cold: {cold * 1000:.0f} ms / "
            f"{peer * 1000:.0f} ms = {r:.3f}x -> {'met' if r < 0.1 else 'MISSED'}"
        )
    if sib_bytes is not None and cold_bytes:
        share = sib_bytes * 100 / cold_bytes
        eshare = sib_engine * 100 / cold_engine if cold_engine else 0
        print(
            f"  sibling warm re-scan < 5 % of cold bytes: {human(sib_bytes)} / {human(cold_bytes)} "
            f"= {share:.1f} % -> {'met' if share < 5 else 'MISSED'}"
        )
        print(
            f"      of which chunk data: {human(sib_engine)} / {human(cold_engine)} = {eshare:.3f} %;"
            f" the rest is the sibling's own bootstrap layer ({meta['sibling_boot_layer']})"
        )
    print("=" * width)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "cdx" and len(sys.argv) == 4:
        cdx(sys.argv[2], sys.argv[3])
    elif cmd == "nyscan-stats" and len(sys.argv) == 3:
        nyscan_stats(sys.argv[2])
    elif cmd == "report" and len(sys.argv) == 4:
        report(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
