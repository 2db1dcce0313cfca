#!/usr/bin/env bash
# nyscan vs `nydus-image` on a bootstrap of about 100,000 inodes: stats, full walk, lookups.
#
#   bench/inspect.sh            # COUNT=100000 RUNS=10 by default
#   COUNT=20000 RUNS=5 bench/inspect.sh
#
# Builds (cached under target/bench/) a generated tree and RAFS v5 + v6 bootstraps of it with
# the official builder, builds the bench binary in release, then prints one report: wall time
# (median of RUNS, hyperfine when installed) and peak RSS (/usr/bin/time) of each process,
# with the ratio nyscan/nydus-image, plus the in-process figures of nyscan-bench-inspect.
# Fails if the tools disagree on inodes_count or the walk misses entries of the tree.
# See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${COUNT:-100000}
RUNS=${RUNS:-10}
RSS_RUNS=${RSS_RUNS:-3}
WORK=$ROOT/target/bench
BENCH=$ROOT/target/release/nyscan-bench-inspect
CLI=$ROOT/target/release/nyscan
NYDUS=${NYDUS_IMAGE:-$(command -v nydus-image || true)}

say() { printf 'inspect.sh: %s\n' "$*" >&2; }
die() {
    printf '\ninspect.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

if [[ -z $NYDUS || ! -x $NYDUS ]]; then
    say "nydus-image not found (install it or set NYDUS_IMAGE=/path/to/nydus-image): skipping the benchmark"
    exit 0
fi
command -v python3 >/dev/null || die "python3 is needed (tree generator and report)"

mkdir -p "$WORK"
TMP=$(mktemp -d "$WORK/run.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# --- 1. the tree (cached; regenerated when gen-tree.py or COUNT changes) -------------------
TREE=$WORK/tree-$COUNT
tree_key="gen-tree=$(sha256sum "$ROOT/bench/gen-tree.py" | cut -c1-16) count=$COUNT"
if [[ ! -f $TREE.stamp || $(head -n1 "$TREE.stamp") != "$tree_key" ]]; then
    say "generating a tree of $COUNT inodes in $TREE ..."
    rm -rf "$TREE" "$TREE.stamp"
    python3 "$ROOT/bench/gen-tree.py" "$TREE" "$COUNT" >&2
    names=$(find "$TREE" | wc -l)
    printf '%s\nnames=%s\n' "$tree_key" "$names" >"$TREE.stamp"
fi
TREE_NAMES=$(sed -n 's/^names=//p' "$TREE.stamp")

# --- 2. the bootstraps (cached per tree and nydus-image binary) ----------------------------
nydus_key="$tree_key nydus-image=$(sha256sum "$NYDUS" | cut -c1-16)"
declare -A BUILD_SECS
for v in 5 6; do
    boot=$WORK/tree-$COUNT-v$v.boot
    if [[ ! -f $boot.stamp || $(cat "$boot.stamp") != "$nydus_key" ]]; then
        say "building $boot with nydus-image create --fs-version $v ..."
        rm -rf "$boot" "$boot.stamp" "$WORK/blobs-$COUNT-v$v"
        mkdir -p "$WORK/blobs-$COUNT-v$v"
        start=$(date +%s%N)
        "$NYDUS" create -t dir-rafs --fs-version "$v" --log-level warn \
            --bootstrap "$boot" --blob-dir "$WORK/blobs-$COUNT-v$v" "$TREE" >&2
        echo "$(($(date +%s%N) - start))" >"$boot.build-ns"
        echo "$nydus_key" >"$boot.stamp"
    fi
done

# --- 3. the bench binary -------------------------------------------------------------------
say "building nyscan-bench-inspect (release) ..."
(cd "$ROOT" && cargo build --release --quiet -p nyscan-bench) || die "cargo build failed"

HAVE_CLI=0
if [[ -x $CLI ]]; then
    if "$CLI" inspect "$WORK/tree-$COUNT-v6.boot" --request stats >"$TMP/cli.out" 2>"$TMP/cli.err"; then
        HAVE_CLI=1
    else
        say "target/release/nyscan is present but 'nyscan inspect BOOT --request stats' failed ($(head -n1 "$TMP/cli.err")): leaving it out"
    fi
else
    say "target/release/nyscan not found (build it with 'cargo build --release -p nyscan'): only the library bench is compared"
fi

HAVE_HYPERFINE=0
command -v hyperfine >/dev/null && HAVE_HYPERFINE=1
HAVE_TIME=0
[[ -x /usr/bin/time ]] && HAVE_TIME=1
HAVE_VALGRIND=0
command -v valgrind >/dev/null && HAVE_VALGRIND=1
[[ $HAVE_VALGRIND = 1 ]] || say "valgrind not found: instruction counts left out"
[[ $HAVE_TIME = 1 ]] || say "/usr/bin/time not found (apt-get install time): peak RSS of processes left out"

# --- measurement helpers -------------------------------------------------------------------
# wall_ns LABEL CMD... -> median wall time in ns of RUNS runs, stdout and stderr discarded.
wall_ns() {
    local label=$1
    shift
    if [[ $HAVE_HYPERFINE = 1 ]]; then
        local cmd
        cmd=$(printf '%q ' "$@")
        hyperfine --style none -N --warmup 2 --runs "$RUNS" --output null \
            --export-json "$TMP/$label.json" -- "$cmd" >/dev/null 2>"$TMP/$label.hf-err" ||
            die "hyperfine failed on: $cmd ($(tail -n3 "$TMP/$label.hf-err"))"
        python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["median"]*1e9))' \
            "$TMP/$label.json"
    else
        local i start times=()
        "$@" >/dev/null 2>&1 || die "failed: $*"
        for ((i = 0; i < RUNS; i++)); do
            start=$(date +%s%N)
            "$@" >/dev/null 2>&1 || die "failed: $*"
            times+=($(($(date +%s%N) - start)))
        done
        printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
    fi
}

# rss_kib CMD... -> median "Maximum resident set size" (KiB) of RSS_RUNS runs, or 0.
rss_kib() {
    if [[ $HAVE_TIME = 0 ]]; then
        echo 0
        return
    fi
    local i vals=()
    for ((i = 0; i < RSS_RUNS; i++)); do
        /usr/bin/time -v -o "$TMP/time.out" "$@" >/dev/null 2>&1 || die "failed: $*"
        vals+=("$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$TMP/time.out")")
    done
    printf '%s\n' "${vals[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# instructions CMD... -> instructions executed (callgrind), or 0. Repeatable where wall time of
# a 2 ms process is not.
instructions() {
    if [[ $HAVE_VALGRIND = 0 ]]; then
        echo 0
        return
    fi
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" "$@" >/dev/null 2>&1 || die "valgrind failed: $*"
    sed -n 's/^summary: *//p' "$TMP/cg.out" | head -n1
}

json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# measure V OP TOOL CMD... -> one line of $TMP/rows.tsv
measure() {
    local v=$1 op=$2 tool=$3
    shift 3
    say "  v$v $op: $tool"
    local t r i=0
    t=$(wall_ns "v$v-$op-${tool//[^a-z0-9]/_}" "$@")
    r=$(rss_kib "$@")
    if [[ $op = floor || $op = stats ]]; then
        i=$(instructions "$@")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$op" "$tool" "$t" "$r" "$i" >>"$TMP/rows.tsv"
}

# --- 4. measure ----------------------------------------------------------------------------
: >"$TMP/rows.tsv"
: >"$TMP/boots.tsv"
for v in 5 6; do
    boot=$WORK/tree-$COUNT-v$v.boot
    say "measuring v$v ($boot) ..."

    # inodes_count must agree between the tools.
    nydus_stats=$("$NYDUS" inspect "$boot" -R stats 2>/dev/null) || die "nydus-image inspect -R stats failed on $boot"
    nydus_inodes=$(json_field "$nydus_stats" inodes_count)
    lib_inodes=$(json_field "$("$BENCH" --op stats "$boot")" inodes_count)
    [[ $lib_inodes = "$nydus_inodes" ]] ||
        die "v$v inodes_count: nydus-image says $nydus_inodes, nyscan-bench (library) says $lib_inodes"
    cli_inodes=-
    if [[ $HAVE_CLI = 1 ]]; then
        cli_out=$("$CLI" inspect "$boot" --request stats) || die "nyscan inspect $boot --request stats failed"
        cli_inodes=$(json_field "$cli_out" inodes_count) || die "nyscan inspect --request stats printed no inodes_count: $cli_out"
        [[ $cli_inodes = "$nydus_inodes" ]] ||
            die "v$v inodes_count: nydus-image says $nydus_inodes, nyscan inspect says $cli_inodes"
    fi

    # In-process figures (also checks the lookups land where the walk saw them).
    inproc=$("$BENCH" --json --runs 5 "$boot") || die "nyscan-bench-inspect failed on $boot"
    entries=$(json_field "$inproc" walk_entries)
    [[ $entries = "$TREE_NAMES" ]] ||
        die "v$v: the walk met $entries entries, the tree has $TREE_NAMES names"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$boot" "$nydus_inodes" "$cli_inodes" "$inproc" \
        "$(cat "$boot.build-ns" 2>/dev/null || echo 0)" >>"$TMP/boots.tsv"

    # The floor: starting a process and printing a version, which no inspector can beat.
    measure "$v" floor "nydus-image --version" "$NYDUS" --version
    measure "$v" stats "nydus-image inspect -R stats" "$NYDUS" inspect "$boot" -R stats
    if [[ $HAVE_CLI = 1 ]]; then
        measure "$v" floor "nyscan --version" "$CLI" --version
        measure "$v" stats "nyscan inspect --request stats" "$CLI" inspect "$boot" --request stats
    fi
    measure "$v" walk "nydus-image check -v >/dev/null" "$NYDUS" check "$boot" -v
    measure "$v" walk "nyscan-bench-inspect --op walk-print >/dev/null" "$BENCH" --op walk-print "$boot"
    measure "$v" walk "nyscan-bench-inspect --op walk" "$BENCH" --op walk "$boot"
    measure "$v" lookups "nyscan-bench-inspect --op lookups" "$BENCH" --op lookups "$boot"
done

# --- 5. report -----------------------------------------------------------------------------
nydus_version=$("$NYDUS" --version 2>/dev/null | sed 's/^[[:space:]]*//; s/:[[:space:]]*/: /' | grep . | paste -sd ',' - | sed 's/,/, /g' || true)
timer="hyperfine $(hyperfine --version 2>/dev/null | awk '{print $2}'), median of $RUNS runs after 2 warm-ups"
[[ $HAVE_HYPERFINE = 1 ]] || timer="shell loop (date +%s%N), median of $RUNS runs"
python3 - "$TMP/rows.tsv" "$TMP/boots.tsv" "$COUNT" "$TREE" "$TREE_NAMES" "$NYDUS" "$nydus_version" \
    "$timer" "$RSS_RUNS" "$HAVE_CLI" "$HAVE_TIME" <<'PY'
import json, os, platform, sys

rows_f, boots_f, count, tree, names, nydus, nydus_version, timer, rss_runs, have_cli, have_time = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(rows_f) if l.strip()]
boots = [l.rstrip("\n").split("\t") for l in open(boots_f) if l.strip()]

def ms(ns):
    return f"{ns / 1e6:,.1f} ms" if ns >= 1e6 else f"{ns / 1e3:,.1f} µs"

def mib(kib):
    return f"{kib / 1024:,.1f} MiB" if kib else "n/a"

cpu = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass

print("=" * 100)
print(f"nyscan inspect benchmark: tree of {int(count):,} inodes ({int(names):,} names) from bench/gen-tree.py")
print(f"machine:  {os.cpu_count()} CPUs, {cpu}, Linux {platform.release()}")
print(f"peer:     {nydus} ({nydus_version})")
print(f"timing:   {timer}; peak RSS: /usr/bin/time -v, median of {rss_runs} runs")
if have_cli != "1":
    print("note:     target/release/nyscan absent or not answering 'inspect --request stats': CLI row left out")
verdicts = []
for v, boot, nydus_inodes, cli_inodes, inproc, build_ns in boots:
    d = json.loads(inproc)
    size = d["bootstrap_bytes"]
    print()
    print(f"--- RAFS v{v}: {os.path.relpath(boot)} " + "-" * 40)
    print(f"bootstrap size  {size:,} bytes ({size / 2**20:.1f} MiB)"
          + (f", built by nydus-image create in {int(build_ns) / 1e9:.1f} s" if int(build_ns) else ""))
    cli = f" = {cli_inodes} (nyscan inspect)" if cli_inodes != "-" else ""
    print(f"inodes_count    {nydus_inodes} (nydus-image) = {d['inodes_count']} (nyscan library){cli}")
    print(f"walk            {d['walk_entries']:,} entries, {d['unique_inodes']:,} unique inodes, {d['chunks']:,} chunks")
    print()
    print(f"{'op':8} {'command':50} {'wall':>11} {'ratio':>7} {'peak RSS':>11} {'ratio':>7} {'RSS/boot':>8} {'instructions':>13} {'ratio':>6}")
    peer = {}
    floors = {}
    for rv, op, tool, t, r, i in rows:
        if rv == v and op == "floor":
            floors["nydus" if tool.startswith("nydus") else "nyscan"] = int(i)
    peer_ins = {}
    for rv, op, tool, t, r, i in rows:
        if rv != v:
            continue
        t, r, i = int(t), int(r), int(i)
        if tool.startswith("nydus-image"):
            peer[op] = (t, r)
            peer_ins[op] = i
            tr = rr = "1"
        elif op in peer:
            pt, pr = peer[op]
            tr = f"{t / pt:.2f}"
            rr = f"{r / pr:.2f}" if r and pr else "n/a"
            if op == "stats" or tool.endswith("walk-print >/dev/null"):
                ins = None
                if op == "stats" and i and peer_ins.get(op):
                    ins = (i / peer_ins[op], (i - floors.get("nyscan", 0)) / max(peer_ins[op] - floors.get("nydus", 0), 1))
                verdicts.append((v, op, tool, t / pt, r * 1024 / size if r else None, ins))
        else:
            tr = rr = "-"
        ir = f"{i / peer_ins[op]:.2f}" if i and peer_ins.get(op) and not tool.startswith("nydus") else ("1" if i else "-")
        print(f"{op:8} {tool:50} {ms(t):>11} {tr:>7} {mib(r):>11} {rr:>7} "
              f"{(r * 1024 / size if r else 0):>7.2f}x {(f'{i:,}' if i else '-'):>13} {ir:>6}")
    print()
    print(f"in-process (nyscan-bench-inspect, one process, best / median of {d['runs']} runs):")
    print(f"  read file {ms(d['read_ns']['best'])} / {ms(d['read_ns']['median'])}"
          f"   parse + stats {ms(d['stats_ns']['best'])} / {ms(d['stats_ns']['median'])}"
          f"   full walk {ms(d['walk_ns']['best'])} / {ms(d['walk_ns']['median'])}"
          f"   {d['lookups']} lookups {ms(d['lookups_ns']['best'])} / {ms(d['lookups_ns']['median'])}"
          f" ({d['lookups_ns']['best'] / d['lookups'] / 1e3:.2f} µs each)")
    print(f"  VmHWM {mib(d['vmhwm_after_read_kib'])} after reading the file, {mib(d['vmhwm_kib'])} at the end"
          f" ({d['vmhwm_kib'] * 1024 / size:.2f}x the bootstrap)")

print()
print("goal: at most half nydus-image's time; peak memory near the bootstrap's size")
print("      stats runs in ~2 ms, most of it process start-up, where wall time is noise: it is judged")
print("      by instructions executed (callgrind), whole process and above each tool's `--version`")
for v, op, tool, tr, rb, ins in verdicts:
    judged = ins[0] if ins is not None else tr
    ok = "met " if judged <= 0.5 else "MISSED"
    detail = f"instructions {ins[0]:.2f}x ({ins[1]:.2f}x above the floor), wall {tr:.2f}x" if ins else f"time {tr:.2f}x"
    mem = f"peak RSS {rb:.2f}x the bootstrap" if rb is not None else "peak RSS n/a"
    print(f"  v{v} {op:6} {tool:46} {detail} -> {ok}  {mem}")
print("=" * 100)
PY
