#!/usr/bin/env python3
"""Write an rpm database's package headers as a Berkeley DB hash `Packages` and an NDB
`Packages.db`.

Debian's rpm 4.18 writes only SQLite databases (its BDB backend is the read-only `bdb_ro`,
NDB is not built), so the tests take the header blobs of a SQLite `rpmdb.sqlite` written by
`rpm -i --justdb` and store them in the two older forms with this script, written from the
format descriptions (Berkeley DB 5 `db_page.h` layouts as rpm's `lib/backend/bdb_ro.cc` reads
them; rpm's `lib/backend/ndb/rpmpkg.c`). rpm's `bdb_ro` backend reads the BDB file back in the
tests; Trivy (go-rpmdb) reads both.

usage: mkdb.py RPMDB_SQLITE OUT_DIR [--big-endian] [--page-size N]
writes OUT_DIR/Packages and OUT_DIR/Packages.db
"""

import argparse
import os
import sqlite3
import struct
import zlib

# ---- Berkeley DB hash -----------------------------------------------------------------

HASH_MAGIC = 0x061561
HASH_VERSION = 9
P_HASHMETA = 8
P_HASH = 13
P_OVERFLOW = 7
H_KEYDATA = 1
H_OFFPAGE = 3
PAGE_HEADER = 26


def bdb(blobs, page_size, big_endian):
    """A hash database with one bucket (page 1, chained); every header value off-page."""
    e = ">" if big_endian else "<"
    pages = [None, None]  # meta, first bucket page: filled last

    def overflow_chain(data):
        first = len(pages)
        room = page_size - PAGE_HEADER
        chunks = [data[i:i + room] for i in range(0, len(data), room)]
        for n, chunk in enumerate(chunks):
            no = len(pages)
            prev = no - 1 if n else 0
            nxt = no + 1 if n + 1 < len(chunks) else 0
            head = struct.pack(e + "8xIIIHHBB", no, prev, nxt, 1, len(chunk), 0, P_OVERFLOW)
            pages.append(head + chunk + b"\0" * (room - len(chunk)))
        return first

    # Items in (key, value) order; record 0 is rpm's instance counter.
    items = [(struct.pack(e + "I", 0), struct.pack(e + "I", len(blobs) + 1), False)]
    for n, blob in enumerate(blobs, start=1):
        items.append((struct.pack(e + "I", n), blob, True))

    bucket_pages = []  # lists of encoded (key item, value item)
    current, used = [], PAGE_HEADER
    for key, value, offpage in items:
        key_item = bytes([H_KEYDATA]) + key
        if offpage:
            value_item = bytes([H_OFFPAGE, 0, 0, 0]) + struct.pack(e + "II", overflow_chain(value), len(value))
        else:
            value_item = bytes([H_KEYDATA]) + value
        need = len(key_item) + len(value_item) + 4
        if used + need > page_size:
            bucket_pages.append(current)
            current, used = [], PAGE_HEADER
        current.append((key_item, value_item))
        used += need
    bucket_pages.append(current)

    bucket_numbers = [1] + [len(pages) + i for i in range(len(bucket_pages) - 1)]
    pages.extend([None] * (len(bucket_pages) - 1))
    for i, pairs in enumerate(bucket_pages):
        no = bucket_numbers[i]
        prev = bucket_numbers[i - 1] if i else 0
        nxt = bucket_numbers[i + 1] if i + 1 < len(bucket_pages) else 0
        body = bytearray(page_size)
        offsets, top = [], page_size
        for key_item, value_item in pairs:
            for item in (key_item, value_item):
                top -= len(item)
                body[top:top + len(item)] = item
                offsets.append(top)
        struct.pack_into(e + "8xIIIHHBB", body, 0, no, prev, nxt, len(offsets), top, 0, P_HASH)
        for k, off in enumerate(offsets):
            struct.pack_into(e + "H", body, PAGE_HEADER + 2 * k, off)
        pages[no] = bytes(body)

    meta = bytearray(page_size)
    # Generic metadata: lsn, pgno, magic, version, pagesize, encrypt_alg, type, metaflags,
    # unused, free, last_pgno, nparts, key_count, record_count, flags, uid.
    struct.pack_into(e + "8xIIIIBBBxIIIIII", meta, 0, 0, HASH_MAGIC, HASH_VERSION, page_size,
                     0, P_HASHMETA, 0, 0, len(pages) - 1, 0, len(items), len(items), 0)
    # Hash metadata: max_bucket, high_mask, low_mask, ffactor, nelem, h_charkey, flags,
    # spares[32] (bucket 0 lives on page spares[0] = 1).
    struct.pack_into(e + "IIIIIII", meta, 72, 0, 0, 0, 0, len(items), 0, 0)
    struct.pack_into(e + "I", meta, 96, 1)
    pages[0] = bytes(meta)
    return b"".join(pages)


# ---- NDB --------------------------------------------------------------------------------

PAGE = 4096
SLOT = 16
BLOCK = 16


def ndb(blobs):
    slots_per_page = PAGE // SLOT
    slot_pages = max(1, -(-(len(blobs) + 2) // slots_per_page))
    out = bytearray(slot_pages * PAGE)
    struct.pack_into("<4sIIII", out, 0, b"RpmP", 0, 1, slot_pages, len(blobs) + 1)
    for at in range(32, slot_pages * PAGE, SLOT):
        out[at:at + 4] = b"Slot"
    for n, blob in enumerate(blobs):
        index = n + 1
        count = -(-(16 + len(blob) + 12) // BLOCK)
        block = len(out) // BLOCK
        head = struct.pack("<4sIII", b"BlbS", index, 1, len(blob))
        pad = b"\0" * (count * BLOCK - 16 - len(blob) - 12)
        adler = zlib.adler32(head + blob + pad) & 0xFFFFFFFF
        out += head + blob + pad + struct.pack("<II4s", adler, len(blob), b"BlbE")
        struct.pack_into("<4sIII", out, 32 + SLOT * n, b"Slot", index, block, count)
    return bytes(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sqlite")
    parser.add_argument("out")
    parser.add_argument("--big-endian", action="store_true")
    parser.add_argument("--page-size", type=int, default=4096)
    args = parser.parse_args()
    uri = "file:" + os.path.abspath(args.sqlite) + "?mode=ro&immutable=1"
    with sqlite3.connect(uri, uri=True) as conn:
        blobs = [bytes(row[0]) for row in conn.execute("SELECT blob FROM Packages ORDER BY hnum")]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "Packages"), "wb") as f:
        f.write(bdb(blobs, args.page_size, args.big_endian))
    with open(os.path.join(args.out, "Packages.db"), "wb") as f:
        f.write(ndb(blobs))


if __name__ == "__main__":
    main()
