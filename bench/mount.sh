#!/usr/bin/env bash
# nyscan mount vs upstream nydusd: lazy FUSE mounts of one image served by a local registry.
#
#   bench/mount.sh                    # RUNS=3 BIG_MIB=256 TREE_COUNT=20000
#   RUNS=5 bench/mount.sh
#   NYDUSD=/path/to/nydusd NYDUS_IMAGE=/path/to/nydus-image bench/mount.sh
#
# What it does (all data cached under target/bench/mount/, all traffic on 127.0.0.1):
#   1. generates a source tree: one large file `big` (bench/gen-big.py, BIG_MIB MiB, about
#      45% compressible) and `tree/` of TREE_COUNT small inodes (bench/gen-tree.py);
#   2. builds a RAFS v6 image of it with the official `nydus-image create` (zstd; the 2.2
#      builder, so that nydusd 2.2 can read it), packs it as an OCI image
#      (../shared/tools/nydus-oci-pack.py) and pushes it with skopeo to a fresh Debian
#      `docker-registry` on a free loopback port;
#   3. for each of RUNS rounds, each phase and each tool -- `nyscan mount --no-cache`,
#      `nyscan mount` with a fresh --cache-dir, and `nydusd` (FUSE, registry backend, fresh
#      blobcache) when it is installed -- mounts the image cold, drops the page cache, times
#      one phase:
#        walk:  find M -printf '%s %m %u\n'      (every entry, lstat)
#        big:   dd if=M/big of=/dev/null bs=1M   (sequential read of the large file)
#        small: read every regular file under M/tree (bench/mount-helper.py readall)
#      counts the requests and bytes the registry served during it (from its log:
#      `http.response.written` of each "response completed" line), records VmHWM of the
#      serving process and unmounts. A fresh mount per phase keeps one phase's fetches (or a
#      daemon's cache) from serving the next;
#   4. prints one table: medians, MiB/s, registry requests/bytes, ratio tool/nydusd.
# Fails loudly if a mount's big file has the wrong sha256, the walk counts a different
# number of entries than the source tree, or the small files differ. Not a `cargo test`.
# See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
BIG_MIB=${BIG_MIB:-256}
TREE_COUNT=${TREE_COUNT:-20000}
WORK=$ROOT/target/bench/mount
NYSCAN=$ROOT/target/release/nyscan
NYDUS_IMAGE=${NYDUS_IMAGE:-$(command -v nydus-image || true)}
NYDUSD=${NYDUSD:-$(command -v nydusd || true)}
REGISTRY_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}
HELPER=$ROOT/bench/mount-helper.py
REPO=bench/big
TAG=latest

say() { printf 'mount.sh: %s\n' "$*" >&2; }
die() {
    printf '\nmount.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# --- prerequisites ---------------------------------------------------------------------------
if [[ -z $NYDUS_IMAGE || ! -x $NYDUS_IMAGE ]]; then
    say "nydus-image not found (bash ../shared/tools/install-peers.sh --nydus installs it): the"
    say "image must be built by the 2.2 builder for nydusd to read it, skipping the benchmark"
    exit 0
fi
for t in python3 skopeo fusermount3 curl dd find; do
    command -v "$t" >/dev/null || die "$t is needed"
done
[[ -x $REGISTRY_BIN ]] || die "$REGISTRY_BIN (Debian docker-registry) is needed"
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
PACK=$ROOT/../shared/tools/nydus-oci-pack.py
[[ -f $PACK ]] || die "$PACK is missing"
HAVE_NYDUSD=1
NYDUSD_SKIP=""
if [[ -z $NYDUSD || ! -x $NYDUSD ]]; then
    HAVE_NYDUSD=0
    NYDUSD_SKIP="nydusd not installed (bash ../shared/tools/install-peers.sh --nydus)"
    say "$NYDUSD_SKIP: measuring nyscan only"
fi

mkdir -p "$WORK"
TMP=$(mktemp -d "$WORK/run.XXXXXX")
REG_PID=""
declare -A DAEMON_PID=()

mounted() { awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo; }

cleanup() {
    local rc=$?
    set +e
    for m in "$TMP"/mnt-*; do
        [[ -d $m ]] || continue
        if mounted "$m"; then
            fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
        fi
    done
    for p in "${DAEMON_PID[@]}"; do
        kill "$p" 2>/dev/null
    done
    [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
    local busy=0
    for m in "$TMP"/mnt-*; do [[ -d $m ]] && mounted "$m" && busy=1; done
    if ((busy == 0)); then
        rm -rf "$TMP"
    else
        say "leaving $TMP: something is still mounted there"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_caches() {
    sync
    if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then DROP="dropped before each mount and phase"; else DROP="NOT dropped (no permission)"; fi
}

# --- 1. nyscan ---------------------------------------------------------------------------------
say "building nyscan (release) ..."
(cd "$ROOT" && cargo build --release --quiet -p nyscan) || die "cargo build failed"
"$NYSCAN" mount --help >/dev/null 2>&1 || die "$NYSCAN has no mount command"

# --- 2. the source tree (cached; rebuilt when a generator or a size changes) -------------------
SRC=$WORK/src
src_key="gen-big=$(sha256sum "$ROOT/bench/gen-big.py" | cut -c1-16) gen-tree=$(sha256sum "$ROOT/bench/gen-tree.py" | cut -c1-16) big=$BIG_MIB tree=$TREE_COUNT"
if [[ ! -f $SRC.stamp || $(head -n1 "$SRC.stamp") != "$src_key" ]]; then
    say "generating $SRC (big: $BIG_MIB MiB, tree: $TREE_COUNT inodes) ..."
    rm -rf "$SRC" "$SRC.stamp"
    mkdir -p "$SRC"
    python3 "$ROOT/bench/gen-big.py" "$SRC/big" "$BIG_MIB"
    python3 "$ROOT/bench/gen-tree.py" "$SRC/tree" "$TREE_COUNT" >&2
    {
        echo "$src_key"
        echo "big_sha=$(sha256sum "$SRC/big" | cut -d' ' -f1)"
        echo "big_bytes=$(stat -c %s "$SRC/big")"
        echo "entries=$(find "$SRC" | wc -l)"
        echo "small=$(python3 "$HELPER" readall "$SRC/tree")"
    } >"$SRC.stamp.tmp"
    mv "$SRC.stamp.tmp" "$SRC.stamp"
fi
BIG_SHA=$(sed -n 's/^big_sha=//p' "$SRC.stamp")
BIG_BYTES=$(sed -n 's/^big_bytes=//p' "$SRC.stamp")
SRC_ENTRIES=$(sed -n 's/^entries=//p' "$SRC.stamp")
SRC_SMALL=$(sed -n 's/^small=//p' "$SRC.stamp")

# --- 3. the image (cached per source tree and nydus-image binary) -----------------------------
BOOT=$WORK/image.boot
BLOBS=$WORK/blobs
LAYOUT=$WORK/layout
img_key="$src_key nydus-image=$(sha256sum "$NYDUS_IMAGE" | cut -c1-16) pack=$(sha256sum "$PACK" | cut -c1-16)"
if [[ ! -f $BOOT.stamp || $(cat "$BOOT.stamp") != "$img_key" ]]; then
    say "building $BOOT with $NYDUS_IMAGE create (v6, zstd) ..."
    rm -rf "$BOOT" "$BOOT.stamp" "$BLOBS" "$LAYOUT"
    mkdir -p "$BLOBS"
    "$NYDUS_IMAGE" create -t dir-rafs --fs-version 6 --compressor zstd --log-level warn \
        --bootstrap "$BOOT" --blob-dir "$BLOBS" "$SRC" >&2
    python3 "$PACK" --bootstrap "$BOOT" --blob-dir "$BLOBS" --fs-version 6 --out "$LAYOUT" --tag "$TAG" >&2
    echo "$img_key" >"$BOOT.stamp"
fi
BLOB_IDS=$(cd "$BLOBS" && ls | grep -E '^[0-9a-f]{64}$' || true)
[[ -n $BLOB_IDS ]] || die "no data blob in $BLOBS"
BLOB_BYTES=0
for b in $BLOB_IDS; do BLOB_BYTES=$((BLOB_BYTES + $(stat -c %s "$BLOBS/$b"))); done

# --- 4. the registry (fresh storage each run; the image is pushed with skopeo) ---------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REG_LOG=$TMP/registry.log
cat >"$TMP/registry.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $TMP/registry
  delete:
    enabled: false
http:
  addr: 127.0.0.1:$PORT
EOF
"$REGISTRY_BIN" serve "$TMP/registry.yml" >"$TMP/registry.out" 2>"$REG_LOG" &
REG_PID=$!
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2/" && break
    kill -0 "$REG_PID" 2>/dev/null || die "docker-registry exited: $(tail -n3 "$REG_LOG")"
    sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2/" || die "docker-registry did not answer on port $PORT"
say "pushing the image to 127.0.0.1:$PORT/$REPO:$TAG ..."
skopeo copy --quiet --insecure-policy --dest-tls-verify=false \
    "oci:$LAYOUT:$TAG" "docker://127.0.0.1:$PORT/$REPO:$TAG" >&2 || die "skopeo copy failed"
SOURCE=127.0.0.1:$PORT/$REPO:$TAG

log_offset() {
    sleep 0.3 # let the registry write the line of the last response
    stat -c %s "$REG_LOG"
}

# --- 5. mount / unmount per tool ----------------------------------------------------------------
NYDUSD_CONFIG=$TMP/nydusd.json
write_nydusd_config() { # $1 = blobcache work dir
    cat >"$NYDUSD_CONFIG" <<EOF
{
  "device": {
    "backend": {
      "type": "registry",
      "config": {
        "scheme": "http",
        "host": "127.0.0.1:$PORT",
        "repo": "$REPO",
        "timeout": 30,
        "connect_timeout": 10,
        "retry_limit": 2
      }
    },
    "cache": { "type": "blobcache", "config": { "work_dir": "$1" } }
  },
  "mode": "direct",
  "digest_validate": false,
  "iostats_files": false,
  "enable_xattr": true,
  "fs_prefetch": { "enable": false }
}
EOF
}

wait_mounted() { # $1 = mount point, $2 = pid to watch (may be empty), $3 = log
    for _ in $(seq 300); do
        mounted "$1" && return 0
        if [[ -n $2 ]] && ! kill -0 "$2" 2>/dev/null; then
            die "the daemon for $1 exited before mounting: $(tail -n5 "$3" 2>/dev/null)"
        fi
        sleep 0.05
    done
    die "$1 was not mounted within 15 s: $(tail -n5 "$3" 2>/dev/null)"
}

# mount_tool TOOL RUN -> sets M (mount point) and DAEMON_PID[TOOL]
mount_tool() {
    local tool=$1 run=$2
    M=$TMP/mnt-$tool
    mkdir -p "$M"
    local cache=$TMP/cache-$tool-$run log=$TMP/$tool-$run.log pidf=$TMP/$tool.pid
    rm -rf "$cache"
    case $tool in
    nyscan)
        "$NYSCAN" mount "$SOURCE" "$M" --daemon --pid-file "$pidf" --log-file "$log" --no-cache >&2 ||
            die "nyscan mount failed: $(tail -n5 "$log" 2>/dev/null)"
        DAEMON_PID[$tool]=$(cat "$pidf")
        ;;
    nyscan-cache)
        mkdir -p "$cache"
        "$NYSCAN" mount "$SOURCE" "$M" --daemon --pid-file "$pidf" --log-file "$log" --cache-dir "$cache" >&2 ||
            die "nyscan mount failed: $(tail -n5 "$log" 2>/dev/null)"
        DAEMON_PID[$tool]=$(cat "$pidf")
        ;;
    nydusd)
        mkdir -p "$cache"
        write_nydusd_config "$cache"
        "$NYDUSD" --config "$NYDUSD_CONFIG" --mountpoint "$M" --bootstrap "$BOOT" \
            --log-level warn --log-file "$log" --rlimit-nofile 0 >"$TMP/nydusd.out" 2>&1 &
        DAEMON_PID[$tool]=$!
        ;;
    esac
    wait_mounted "$M" "${DAEMON_PID[$tool]}" "$log"
}

umount_tool() {
    local tool=$1 pid=${DAEMON_PID[$1]}
    case $tool in
    nyscan | nyscan-cache)
        "$NYSCAN" umount "$M" --pid-file "$TMP/$tool.pid" >&2 || die "nyscan umount $M failed"
        ;;
    nydusd)
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        if mounted "$M"; then fusermount3 -u -z "$M" 2>/dev/null || umount -l "$M"; fi
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
        wait "$pid" 2>/dev/null || true
        ;;
    esac
    for _ in $(seq 100); do mounted "$M" || break; sleep 0.05; done
    mounted "$M" && die "$M is still mounted after unmounting $tool"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    unset "DAEMON_PID[$tool]"
    rm -rf "$TMP/cache-$tool-"*
}

now() { date +%s%N; }
RESULTS=$TMP/results.tsv
: >"$RESULTS"
record() { # tool run phase start_ns end_ns log_start log_end vmhwm_kib
    local secs regs
    secs=$(python3 -c "print(($5 - $4) / 1e9)")
    regs=$(python3 "$HELPER" regbytes "$REG_LOG" "$6" "$7")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$secs" "${regs// /$'\t'}" "${8:-0}" >>"$RESULTS"
}

TOOLS=(nyscan nyscan-cache)
((HAVE_NYDUSD)) && TOOLS+=(nydusd)
CHECKS=()

# run_phase TOOL RUN PHASE: fresh mount, page cache dropped, one timed phase, its registry
# traffic, the daemon's VmHWM, unmount.
run_phase() {
    local tool=$1 run=$2 phase=$3 l0 l1 t0 t1 out
    drop_caches
    l0=$(log_offset)
    t0=$(now)
    mount_tool "$tool" "$run"
    t1=$(now)
    l1=$(log_offset)
    [[ $phase == walk ]] && record "$tool" "$run" mount "$t0" "$t1" "$l0" "$l1" 0
    drop_caches
    l0=$(log_offset)
    t0=$(now)
    case $phase in
    walk) out=$(find "$M" -printf '%s %m %u\n' | wc -l) ;;
    big) dd if="$M/big" of=/dev/null bs=1M status=none ;;
    small) out=$(python3 "$HELPER" readall "$M/tree") ;;
    esac
    t1=$(now)
    l1=$(log_offset)
    record "$tool" "$run" "$phase" "$t0" "$t1" "$l0" "$l1" \
        "$(awk '/^VmHWM:/ { print $2 }' "/proc/${DAEMON_PID[$tool]}/status" 2>/dev/null || echo 0)"
    case $phase in
    walk) [[ $out == "$SRC_ENTRIES" ]] || die "$tool: the walk met $out entries, the source tree has $SRC_ENTRIES" ;;
    small) [[ $out == "$SRC_SMALL" ]] || die "$tool: small files differ: mount '$out', source '$SRC_SMALL'" ;;
    big)
        # untimed check, through the mount (page cache or not)
        out=$(sha256sum "$M/big" | cut -d' ' -f1)
        [[ $out == "$BIG_SHA" ]] || die "$tool: sha256 of big through the mount is $out, the source's is $BIG_SHA"
        ;;
    esac
    umount_tool "$tool"
}

for run in $(seq "$RUNS"); do
    for phase in walk big small; do
        for tool in "${TOOLS[@]}"; do
            say "run $run/$RUNS: $phase on $tool ..."
            run_phase "$tool" "$run" "$phase"
        done
    done
done
CHECKS+=("big sha256 = source, $SRC_ENTRIES entries walked, ${SRC_SMALL%% *} small files identical: every tool, every run")

# --- 6. report -----------------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
nyscan_ver=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')
boot_bytes=$(stat -c %s "$BOOT")
{
    echo "tools=$(IFS=,; echo "${TOOLS[*]}")"
    echo "big_bytes=$BIG_BYTES"
    echo "big_desc=big file of $BIG_MIB MiB"
    echo "tree_desc=$TREE_COUNT inodes ($SRC_ENTRIES entries in all, ${SRC_SMALL%% *} regular files under tree/)"
    echo "machine=$(nproc) CPUs, $cpu, Linux $(uname -r)"
    echo "image_desc=RAFS v6 zstd by $NYDUS_IMAGE create; bootstrap $(printf "%'d" "$boot_bytes") bytes, data blob $(printf "%'d" "$BLOB_BYTES") bytes"
    echo "registry=$($REGISTRY_BIN --version 2>/dev/null | awk '{print $NF}') (Debian docker-registry), 127.0.0.1:$PORT/$REPO:$TAG, plain HTTP"
    echo "cmd_nyscan=nyscan mount SOURCE M --daemon --no-cache   (nyscan $nyscan_ver; defaults: --readahead 4 MiB, --parallel 8, --threads 4)"
    echo "cmd_nyscan-cache=nyscan mount SOURCE M --daemon --cache-dir FRESH_DIR"
    echo "cmd_nydusd=nydusd --config CONFIG --mountpoint M --bootstrap LOCAL_BOOT --log-level warn --rlimit-nofile 0   (registry backend, fresh blobcache dir; see bench/README.md)"
    echo "nydusd_skip=$NYDUSD_SKIP"
    echo "runs=$RUNS"
    echo "drop=$DROP"
    echo "checks=${CHECKS[*]}"
} >"$TMP/meta"
python3 "$HELPER" report "$RESULTS" "$TMP/meta"
cp "$RESULTS" "$WORK/last-results.tsv"
