#!/bin/sh
# Builds the rpm test databases with Debian's rpm tools, and what rpm itself reads from them.
#
# usage: make-fixtures.sh OUT_DIR
#
# OUT_DIR/rpmdb.sqlite   SQLite database written by `rpm -i --justdb` (rpm 4.18), then
#                        rewritten with 1 KiB pages to keep it small (still WAL mode)
# OUT_DIR/Packages       Berkeley DB hash (little-endian, 4 KiB pages) made by mkdb.py
# OUT_DIR/Packages.db    NDB made by mkdb.py
# OUT_DIR/be512/Packages Berkeley DB hash, big-endian, 512-byte pages (multi-page chains)
# OUT_DIR/expected.txt   `rpm -qa` on the SQLite database: one line per package,
#                        NAME|EPOCHNUM|VERSION|RELEASE|ARCH|SOURCERPM|LICENSE|VENDOR|MODULARITYLABEL
# OUT_DIR/expected-files.txt  `NAME FILENAME` for every file of every package
# OUT_DIR/expected-bdb.txt    `rpm -qa` through rpm's own read-only BDB backend (bdb_ro) on
#                             OUT_DIR/Packages, same format as expected.txt
#
# Needs: rpm, rpmbuild, sqlite3, python3.
set -eu
out=$(mkdir -p "$1" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
qf='%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}|%{SOURCERPM}|%{LICENSE}|%{VENDOR}|%{MODULARITYLABEL}\n'

for spec in "$here"/specs/*.spec; do
  rpmbuild --quiet --define "_topdir $work/build" --define '_build_id_links none' \
    --define '_binary_payload w9.gzdio' -bb "$spec" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; exit 1; }
done

mkdir -p "$work/db"
rpm --dbpath "$work/db" --initdb
# Debian's rpm warns that it should not install packages; --justdb only records them.
rpm --dbpath "$work/db" -i --justdb --nodeps --ignorearch --ignoreos \
  "$work"/build/RPMS/*/*.rpm 2>"$work/install.log" \
  || { cat "$work/install.log" >&2; exit 1; }
rpm --dbpath "$work/db" -qa --qf "$qf" 2>/dev/null | sort >"$out/expected.txt"
rpm --dbpath "$work/db" -qa --qf '[%{=NAME} %{FILENAMES}\n]' 2>/dev/null | sort >"$out/expected-files.txt"

rm -f "$out/rpmdb.sqlite"
sqlite3 "$work/db/rpmdb.sqlite" "VACUUM INTO '$work/small.sqlite'"
sqlite3 "$work/small.sqlite" 'PRAGMA journal_mode=DELETE; PRAGMA page_size=1024; VACUUM; PRAGMA journal_mode=WAL;' >/dev/null
cp "$work/small.sqlite" "$out/rpmdb.sqlite"

python3 "$here/mkdb.py" "$out/rpmdb.sqlite" "$out"
python3 "$here/mkdb.py" "$out/rpmdb.sqlite" "$work/be512" --big-endian --page-size 512
mkdir -p "$out/be512"
cp "$work/be512/Packages" "$out/be512/Packages"

mkdir -p "$work/bdb"
cp "$out/Packages" "$work/bdb/Packages"
rpm --dbpath "$work/bdb" --define '_db_backend bdb_ro' -qa --qf "$qf" 2>/dev/null | sort >"$out/expected-bdb.txt"
