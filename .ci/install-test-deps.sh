#!/usr/bin/env bash
# Installs what the test suite compares against or builds test data with, beyond the peers of
# ../shared/tools/install-peers.sh (idempotent; run as root). Every test that needs one of
# these prints "SKIPPED: <reason>" without it.
#   Debian: libdpkg-dev, pkg-config (dpkg's own version order), ruby, php-cli, composer,
#           golang-go, golang-golang-x-mod-dev (version orders of RubyGems, Composer, Go;
#           Go test binaries), maven (Maven's ComparableVersion)
#   PyPI:   packaging, cvss (PEP 440 order, CVSS scores)
#   npm:    semver (node-semver order)
#   cargo:  cargo-auditable (Rust test binaries with dependency data)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
for pkg in libdpkg-dev pkg-config ruby php-cli composer golang-go golang-golang-x-mod-dev maven; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "debian test packages: ok (${need[*]:-already installed})"

python3 - <<'PY' 2>/dev/null || python3 -m pip install -q packaging cvss
import packaging.version, cvss
PY
echo "python: packaging, cvss ok"

if ! (cd / && node -e "require('$(npm root -g)/semver')" 2>/dev/null); then
  npm install -g --silent --no-audit --no-fund semver >/dev/null
fi
echo "npm: semver ok"

if ! cargo auditable --version >/dev/null 2>&1; then
  cargo install -q --locked cargo-auditable
fi
echo "cargo-auditable ok"
