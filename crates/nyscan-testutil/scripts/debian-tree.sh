#!/usr/bin/env bash
# Builds the Debian tree of the SBOM parity tests: a `debootstrap --variant=minbase bookworm`
# root file system, Python packages installed with pip into its site-packages and Node.js
# packages installed with npm into /app. Versions are pinned so runs compare alike.
# Usage: debian-tree.sh ROOT   (as root; needs debootstrap, pip and npm and Debian's mirror)
# The mirror is the one apt uses here; NYSCAN_DEBIAN_MIRROR overrides it.
set -euo pipefail
root=$1
mirror=${NYSCAN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
for tool in debootstrap pip3 npm; do
  command -v "$tool" >/dev/null || { echo "$tool not installed" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 3; }

work=$root.partial
rm -rf "$work" "$root"
mkdir -p "$work"
debootstrap --variant=minbase bookworm "$work" "$mirror" >"$work.debootstrap.log" 2>&1 || {
  tail -n 30 "$work.debootstrap.log" >&2; exit 1; }
rm -f "$work.debootstrap.log"

# Python: a few real distributions with their dependencies, as `pip install --target` lays them
pip3 install --quiet --no-cache-dir --disable-pip-version-check --no-compile \
  --target "$work/usr/local/lib/python3.11/site-packages" \
  requests==2.32.3 urllib3==2.2.3 idna==3.10 certifi==2024.8.30 charset-normalizer==3.4.0 \
  six==1.16.0

# Node.js: an application directory with its node_modules
mkdir -p "$work/app"
(cd "$work/app" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund --loglevel=error lodash@4.17.21 express@4.21.2 >/dev/null)

mv "$work" "$root"
echo "built $root"
