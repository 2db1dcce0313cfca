#!/usr/bin/env bash
# nyscan sbom vs Trivy: the packages of one image, pulled through a shaped link from a local
# registry, as an OCI v1 image (trivy image), as a Nydus image mounted by nydusd (trivy
# rootfs), and as the same Nydus image read by nyscan, cold, warm and on a sibling tag.
#
#   bench/scan.sh                        # RUNS=3 MBIT=100 RTT_MS=20
#   RUNS=5 MBIT=1000 RTT_MS=5 bench/scan.sh
#   NYSCAN_CMD=scan NYSCAN_ARGS="--scanners vuln --db FILE" bench/scan.sh
#                                        # time `nyscan scan` instead of `nyscan sbom`
#
# What it does (trees and images cached under target/bench/scan/, all traffic on 127.0.0.1):
#   1. the test tree: `debootstrap --variant=minbase bookworm` + pip and npm packages, built
#      by crates/nyscan-testutil/scripts/debian-tree.sh and kept where the tests keep it
#      (`nyscan-bench-scan tree`); a sibling tree: the same with one file changed (lodash's
#      package.json says 4.17.22);
#   2. each tree as an OCI v1 image (bench/oci-v1-pack.py: one gzip tar layer) and as its
#      Nydus twin (official `nydus-image create`, RAFS v6, zstd; packed by
#      ../shared/tools/nydus-oci-pack.py), all four pushed with skopeo to a fresh Debian
#      `docker-registry` (bench/debian-oci:v1|v2, bench/debian-nydus:v1|v2);
#   3. a shaping proxy in front of it (`nyscan-bench-scan proxy`, nyscan_testutil::FaultProxy:
#      MBIT Mbit/s shared by all answers, RTT_MS per request), which every tool talks to;
#   4. RUNS rounds, the tool groups alternating in order, each row measured by wall time and
#      by the requests and bytes the registry served (its log; the proxy's log must count the
#      same requests, so nothing went around the link):
#        trivy image --format cyclonedx on v1 with a fresh cache, again on v1 (warm), then on
#          v2 (sibling, warm cache);
#        nydusd (registry backend through the proxy, fresh blobcache) mounting v1 +
#          trivy rootfs --format cyclonedx on the mount, when nydusd is installed;
#        nyscan sbom --format cyclonedx on v1 with fresh chunk and scan caches (cold), again
#          (warm), on v2 (sibling, warm caches), and on v2 with only the scan cache of the
#          warm run (a fresh chunk cache);
#   5. one table: medians, ratios to trivy image cold, and the issue's goals.
# Fails loudly when a tool fails, a report lacks packages or shows the wrong lodash version,
# or a request bypassed the proxy. Not a `cargo test`. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
MBIT=${MBIT:-100}
RTT_MS=${RTT_MS:-20}
NYSCAN_CMD=${NYSCAN_CMD:-sbom}
read -r -a NYSCAN_ARGS <<<"${NYSCAN_ARGS:-}"
WORK=$ROOT/target/bench/scan
NYSCAN=$ROOT/target/release/nyscan
BENCH=$ROOT/target/release/nyscan-bench-scan
NYDUS_IMAGE=${NYDUS_IMAGE:-$(command -v nydus-image || true)}
NYDUSD=${NYDUSD:-$(command -v nydusd || true)}
TRIVY=${TRIVY:-/usr/local/bin/trivy}
REGISTRY_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}
HELPER=$ROOT/bench/scan-helper.py
REGHELPER=$ROOT/bench/mount-helper.py
PACK=$ROOT/../shared/tools/nydus-oci-pack.py
# The sibling's one changed file, and the versions each tag must report.
CHANGED=app/node_modules/lodash/package.json
V1_LODASH=4.17.21
V2_LODASH=4.17.22

say() { printf 'scan.sh: %s\n' "$*" >&2; }
die() {
    printf '\nscan.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# --- prerequisites ---------------------------------------------------------------------------
if [[ -z $NYDUS_IMAGE || ! -x $NYDUS_IMAGE ]]; then
    say "nydus-image not found (bash ../shared/tools/install-peers.sh --nydus installs it):"
    say "the Nydus image must come from the official builder, skipping the benchmark"
    exit 0
fi
[[ -x $TRIVY ]] || die "$TRIVY is needed (bash ../shared/tools/install-peers.sh installs it)"
for t in python3 skopeo curl cargo; do
    command -v "$t" >/dev/null || die "$t is needed"
done
[[ -x $REGISTRY_BIN ]] || die "$REGISTRY_BIN (Debian docker-registry) is needed"
[[ -f $PACK ]] || die "$PACK is missing"
NYDUSD_SKIP=""
if [[ -z $NYDUSD || ! -x $NYDUSD ]]; then
    NYDUSD_SKIP="nydusd not installed (bash ../shared/tools/install-peers.sh --nydus)"
elif [[ ! -e /dev/fuse ]] || ! command -v fusermount3 >/dev/null; then
    NYDUSD_SKIP="no /dev/fuse or fusermount3"
elif [[ $(id -u) != 0 ]]; then
    NYDUSD_SKIP="nydusd mounts need root"
fi
[[ -n $NYDUSD_SKIP ]] && say "$NYDUSD_SKIP: no nydusd row"

mkdir -p "$WORK"
TMP=$(mktemp -d "$WORK/run.XXXXXX")
REG_PID=""
PROXY_PID=""
NYDUSD_PID=""
MNT=$TMP/mnt

mounted() { awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo; }

cleanup() {
    local rc=$?
    set +e
    [[ -n $NYDUSD_PID ]] && kill "$NYDUSD_PID" 2>/dev/null
    if mounted "$MNT"; then fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; fi
    [[ -n $PROXY_PID ]] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
    [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
    if mounted "$MNT"; then
        say "leaving $TMP: $MNT is still mounted"
    else
        rm -rf "$TMP"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. binaries ---------------------------------------------------------------------------------
say "building nyscan and nyscan-bench-scan (release) ..."
(cd "$ROOT" && cargo build --release --quiet -p nyscan -p nyscan-bench) || die "cargo build failed"
"$NYSCAN" "$NYSCAN_CMD" --help >/dev/null 2>&1 || die "$NYSCAN has no $NYSCAN_CMD command"

# --- 2. trees ------------------------------------------------------------------------------------
say "the Debian+app tree (built once by crates/nyscan-testutil/scripts/debian-tree.sh; minutes) ..."
set +e
TREE=$("$BENCH" tree debian-tree.sh)
rc=$?
set -e
((rc == 3)) && die "the tree script cannot run here (see above): it needs root, debootstrap, pip3, npm and a Debian mirror"
((rc == 0)) || die "building the tree failed"
grep -q "\"version\": \"$V1_LODASH\"" "$TREE/$CHANGED" || die "$TREE/$CHANGED does not say $V1_LODASH"
SIB=$WORK/sibling
sib_key="tree=$TREE change=$CHANGED:$V2_LODASH"
if [[ ! -f $SIB.stamp || $(cat "$SIB.stamp") != "$sib_key" ]]; then
    say "sibling tree: $CHANGED says $V2_LODASH ..."
    rm -rf "$SIB" "$SIB.stamp"
    cp -a --reflink=auto "$TREE" "$SIB"
    sed -i "s/\"version\": \"$V1_LODASH\"/\"version\": \"$V2_LODASH\"/" "$SIB/$CHANGED"
    echo "$sib_key" >"$SIB.stamp"
fi
changed=$(diff -rq --no-dereference "$TREE" "$SIB" 2>/dev/null | grep -v 'special file' || true)
[[ $(printf '%s\n' "$changed" | grep -c .) == 1 && $changed == *"$CHANGED"* ]] ||
    die "the sibling tree should differ in $CHANGED only: $changed"

# --- 3. images (cached per tree and per builder/packer) ----------------------------------------
img_key="nydus-image=$(sha256sum "$NYDUS_IMAGE" | cut -c1-16) pack=$(sha256sum "$PACK" | cut -c1-16) oci=$(sha256sum "$ROOT/bench/oci-v1-pack.py" | cut -c1-16)"
build_images() { # $1 = tag (v1|v2), $2 = tree
    local dir=$WORK/$1 key="$img_key tree=$2 $(cat "$SIB.stamp")"
    if [[ -f $dir.stamp && $(cat "$dir.stamp") == "$key" ]]; then return; fi
    say "building the $1 images of $2 (nydus-image create, oci-v1-pack.py) ..."
    rm -rf "$dir" "$dir.stamp"
    mkdir -p "$dir/blobs"
    "$NYDUS_IMAGE" create -t dir-rafs --fs-version 6 --compressor zstd --log-level warn \
        --bootstrap "$dir/boot" --blob-dir "$dir/blobs" "$2" >&2
    python3 "$PACK" --bootstrap "$dir/boot" --blob-dir "$dir/blobs" --fs-version 6 \
        --out "$dir/nydus-layout" --tag "$1" >&2
    python3 "$ROOT/bench/oci-v1-pack.py" --rootfs "$2" --out "$dir/oci-layout" --tag "$1" >&2
    echo "$key" >"$dir.stamp"
}
build_images v1 "$TREE"
build_images v2 "$SIB"
layout_bytes() { # total bytes of the layers of an OCI layout's only manifest, and the last layer's
    python3 - "$1" <<'EOF'
import json, os, sys
root = sys.argv[1]
index = json.load(open(os.path.join(root, "index.json")))
digest = index["manifests"][0]["digest"].split(":")[1]
manifest = json.load(open(os.path.join(root, "blobs", "sha256", digest)))
layers = [l["size"] for l in manifest["layers"]]
print(sum(layers) + manifest["config"]["size"], layers[-1])
EOF
}
read -r OCI_BLOB_BYTES _ < <(layout_bytes "$WORK/v1/oci-layout")
read -r NYDUS_BLOB_BYTES V1_BOOT_LAYER < <(layout_bytes "$WORK/v1/nydus-layout")
read -r _ V2_BOOT_LAYER < <(layout_bytes "$WORK/v2/nydus-layout")

# --- 4. registry, images, proxy ----------------------------------------------------------------
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
for tag in v1 v2; do
    say "pushing bench/debian-oci:$tag and bench/debian-nydus:$tag ..."
    skopeo copy --quiet --insecure-policy --dest-tls-verify=false \
        "oci:$WORK/$tag/oci-layout:$tag" "docker://127.0.0.1:$PORT/bench/debian-oci:$tag" >&2 ||
        die "skopeo copy failed"
    skopeo copy --quiet --insecure-policy --dest-tls-verify=false \
        "oci:$WORK/$tag/nydus-layout:$tag" "docker://127.0.0.1:$PORT/bench/debian-nydus:$tag" >&2 ||
        die "skopeo copy failed"
done
PROXY_LOG=$TMP/proxy.log
: >"$PROXY_LOG"
"$BENCH" proxy --upstream "127.0.0.1:$PORT" --mbit "$MBIT" --rtt-ms "$RTT_MS" \
    --addr-file "$TMP/proxy.addr" --log "$PROXY_LOG" 2>"$TMP/proxy.err" &
PROXY_PID=$!
for _ in $(seq 100); do [[ -s $TMP/proxy.addr ]] && break; sleep 0.05; done
[[ -s $TMP/proxy.addr ]] || die "the proxy did not start: $(cat "$TMP/proxy.err")"
PROXY=$(cat "$TMP/proxy.addr")
say "registry 127.0.0.1:$PORT behind the proxy $PROXY ($MBIT Mbit/s, $RTT_MS ms round trip)"

# --- 5. measurements -----------------------------------------------------------------------------
now() { date +%s%N; }
settle() { sleep 0.3; } # let the registry and the proxy write the lines of the last answers
RESULTS=$TMP/results.tsv
: >"$RESULTS"
CHECKS=()

# record ROW RUN START_NS END_NS LOG0 LOG1 PROXY0 PROXY1 CDX LODASH [NYSCAN_STDERR]
record() {
    local row=$1 run=$2 secs regs proxied libs version engine="0 0 0"
    secs=$(python3 -c "print(($4 - $3) / 1e9)")
    regs=$(python3 "$REGHELPER" regbytes "$REG_LOG" "$5" "$6")
    proxied=$(($8 - $7))
    read -r nreq _ <<<"$regs"
    ((nreq == proxied)) || die "$row: the registry served $nreq requests, the proxy saw $proxied: traffic bypassed the link"
    read -r libs version < <(python3 "$HELPER" cdx "$9" lodash)
    ((libs > 100)) || die "$row: only $libs packages in $9"
    [[ $version == "${10}" ]] || die "$row: lodash is $version in $9, expected ${10}"
    [[ -n ${11:-} ]] && engine=$(python3 "$HELPER" nyscan-stats "${11}")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$run" "$secs" "${regs// /$'\t'}" \
        "$proxied" "$libs" "$version" "${engine// /$'\t'}" >>"$RESULTS"
}

# timed ROW RUN LODASH [--nyscan] -- COMMAND...: runs COMMAND (its CycloneDX in $TMP/ROW.cdx)
timed() {
    local row=$1 run=$2 lodash=$3 nyscan_stats="" l0 l1 p0 p1 t0 t1
    shift 3
    if [[ $1 == --nyscan ]]; then nyscan_stats=$TMP/$row.err; shift; fi
    shift # --
    settle
    l0=$(stat -c %s "$REG_LOG")
    p0=$(wc -l <"$PROXY_LOG")
    t0=$(now)
    "$@" >"$TMP/$row.out" 2>"$TMP/$row.err" || die "$row: $* failed: $(tail -n5 "$TMP/$row.err")"
    t1=$(now)
    settle
    l1=$(stat -c %s "$REG_LOG")
    p1=$(wc -l <"$PROXY_LOG")
    record "$row" "$run" "$t0" "$t1" "$l0" "$l1" "$p0" "$p1" "$TMP/$row.cdx" "$lodash" "$nyscan_stats"
}

trivy_image() { # CACHE_DIR TAG OUT
    "$TRIVY" image --image-src remote --insecure --format cyclonedx --cache-dir "$1" \
        --skip-db-update --offline-scan --quiet --output "$3" "$PROXY/bench/debian-oci:$2"
}

nyscan_scan() { # CHUNK_CACHE SCAN_CACHE TAG OUT
    "$NYSCAN" "$NYSCAN_CMD" "$PROXY/bench/debian-nydus:$3" --format cyclonedx --output "$4" \
        --stats --quiet --cache-dir "$1" --scan-cache-dir "$2" "${NYSCAN_ARGS[@]}"
}

# nydusd_trivy BLOBCACHE OUT: mount v1 with nydusd (local bootstrap, registry backend through
# the proxy), run trivy rootfs on it; unmounted by the caller.
nydusd_trivy() {
    mkdir -p "$MNT" "$1"
    cat >"$TMP/nydusd.json" <<EOF
{
  "device": {
    "backend": {
      "type": "registry",
      "config": { "scheme": "http", "host": "$PROXY", "repo": "bench/debian-nydus",
                  "timeout": 30, "connect_timeout": 10, "retry_limit": 2 }
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
    "$NYDUSD" --config "$TMP/nydusd.json" --mountpoint "$MNT" --bootstrap "$WORK/v1/boot" \
        --log-level warn --log-file "$TMP/nydusd.log" --rlimit-nofile 0 >"$TMP/nydusd.out" 2>&1 &
    NYDUSD_PID=$!
    for _ in $(seq 300); do
        mounted "$MNT" && break
        kill -0 "$NYDUSD_PID" 2>/dev/null || { echo "nydusd exited: $(tail -n5 "$TMP/nydusd.log")" >&2; return 1; }
        sleep 0.02
    done
    mounted "$MNT" || { echo "nydusd did not mount within 6 s" >&2; return 1; }
    "$TRIVY" rootfs --format cyclonedx --cache-dir "$TMP/trivy-rootfs-cache" --skip-db-update \
        --offline-scan --quiet --output "$2" "$MNT"
}

nydusd_stop() {
    kill -TERM "$NYDUSD_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$NYDUSD_PID" 2>/dev/null || break; sleep 0.05; done
    if mounted "$MNT"; then fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT"; fi
    kill -KILL "$NYDUSD_PID" 2>/dev/null || true
    wait "$NYDUSD_PID" 2>/dev/null || true
    NYDUSD_PID=""
    mounted "$MNT" && die "$MNT is still mounted after stopping nydusd"
    return 0
}

group_trivy() {
    local run=$1 cache=$TMP/trivy-cache-$1
    rm -rf "$cache"
    say "run $run/$RUNS: trivy image (cold, warm, sibling) ..."
    timed trivy-cold "$run" "$V1_LODASH" -- trivy_image "$cache" v1 "$TMP/trivy-cold.cdx"
    timed trivy-warm "$run" "$V1_LODASH" -- trivy_image "$cache" v1 "$TMP/trivy-warm.cdx"
    timed trivy-sibling "$run" "$V2_LODASH" -- trivy_image "$cache" v2 "$TMP/trivy-sibling.cdx"
    rm -rf "$cache"
}

group_nydusd() {
    local run=$1
    [[ -n $NYDUSD_SKIP ]] && return 0
    say "run $run/$RUNS: nydusd + trivy rootfs ..."
    rm -rf "$TMP/blobcache" "$TMP/trivy-rootfs-cache"
    timed nydusd-trivy "$run" "$V1_LODASH" -- nydusd_trivy "$TMP/blobcache" "$TMP/nydusd-trivy.cdx"
    nydusd_stop
    rm -rf "$TMP/blobcache" "$TMP/trivy-rootfs-cache"
}

group_nyscan() {
    local run=$1 cc=$TMP/chunks-$1 sc=$TMP/scan-$1
    rm -rf "$cc" "$sc" "$cc.fresh" "$sc.warm"
    say "run $run/$RUNS: nyscan $NYSCAN_CMD (cold, warm, sibling) ..."
    timed nyscan-cold "$run" "$V1_LODASH" --nyscan -- nyscan_scan "$cc" "$sc" v1 "$TMP/nyscan-cold.cdx"
    timed nyscan-warm "$run" "$V1_LODASH" --nyscan -- nyscan_scan "$cc" "$sc" v1 "$TMP/nyscan-warm.cdx"
    cp -a "$sc" "$sc.warm"
    timed nyscan-sibling "$run" "$V2_LODASH" --nyscan -- nyscan_scan "$cc" "$sc" v2 "$TMP/nyscan-sibling.cdx"
    timed nyscan-sibling-sc "$run" "$V2_LODASH" --nyscan -- nyscan_scan "$cc.fresh" "$sc.warm" v2 "$TMP/nyscan-sibling-sc.cdx"
    rm -rf "$cc" "$sc" "$cc.fresh" "$sc.warm"
}

for run in $(seq "$RUNS"); do
    if ((run % 2)); then
        group_trivy "$run"
        group_nydusd "$run"
        group_nyscan "$run"
    else
        group_nyscan "$run"
        group_nydusd "$run"
        group_trivy "$run"
    fi
done
CHECKS+=("every report lists more than 100 packages with lodash $V1_LODASH on v1 and $V2_LODASH on v2;")
CHECKS+=("the proxy saw every request the registry served: every run")

# --- 6. report -----------------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
nyscan_ver=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')
(cd "$ROOT" && git diff --quiet HEAD -- crates bench 2>/dev/null) || nyscan_ver+=" with uncommitted changes"
files=$(find "$TREE" -type f | wc -l)
tree_bytes=$(du -sb "$TREE" | cut -f1)
boot_bytes=$(stat -c %s "$WORK/v1/boot")
data_blob=$((NYDUS_BLOB_BYTES - V1_BOOT_LAYER))
{
    echo "tree_desc=debootstrap bookworm minbase + pip + npm (debian-tree.sh): $(printf "%'d" "$files") files, $(printf "%'d" "$tree_bytes") bytes"
    echo "machine=$(nproc) CPUs, $cpu, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "link=$MBIT Mbit/s shared, $RTT_MS ms per request (nyscan-bench-scan proxy, FaultProxy::shape)"
    echo "registry=$($REGISTRY_BIN --version 2>/dev/null | awk '{print $NF}') (Debian docker-registry), plain HTTP"
    echo "oci_desc=one gzip layer, $(printf "%'d" "$OCI_BLOB_BYTES") bytes of blobs (bench/oci-v1-pack.py)"
    echo "nydus_desc=RAFS v6 zstd by nydus-image create: data blob $(printf "%'d" "$data_blob") bytes + bootstrap layer $(printf "%'d" "$V1_BOOT_LAYER") bytes (bootstrap $(printf "%'d" "$boot_bytes") bytes)"
    echo "sibling_desc=v2 = v1 with $CHANGED saying $V2_LODASH, rebuilt from its tree (new blobs, same chunks but one)"
    echo "sibling_boot_layer=$(printf "%'d" "$V2_BOOT_LAYER") bytes, a gzip tar: fetched whole"
    echo "trivy=$("$TRIVY" --version 2>/dev/null | head -n1): image --image-src remote --insecure --format cyclonedx --skip-db-update --offline-scan --cache-dir DIR"
    echo "nydusd=${NYDUSD_SKIP:-$NYDUSD --bootstrap LOCAL_BOOT (registry backend, fresh blobcache, --rlimit-nofile 0) + trivy rootfs --format cyclonedx MOUNT}"
    echo "nyscan=nyscan $NYSCAN_CMD SOURCE --format cyclonedx --stats --quiet --cache-dir DIR --scan-cache-dir DIR ${NYSCAN_ARGS[*]}  (nyscan $nyscan_ver)"
    echo "skip_nydusd-trivy=$NYDUSD_SKIP"
    echo "runs=$RUNS"
    echo "oci_blob_bytes=$OCI_BLOB_BYTES"
    echo "nydus_blob_bytes=$NYDUS_BLOB_BYTES"
    echo "checks=${CHECKS[*]}"
} >"$TMP/meta"
python3 "$HELPER" report "$RESULTS" "$TMP/meta"
cp "$RESULTS" "$WORK/last-results.tsv"
