#!/usr/bin/env python3
"""Generate a deterministic directory tree of about COUNT inodes for the benchmarks.

    bench/gen-tree.py DEST [COUNT]      (COUNT defaults to 100000)

The same COUNT always yields the same tree: names, contents, modes, link targets and
mtimes all come from a seeded PRNG. Shape:

  * nested directories, breadth first, 3-7 sub-directories each, so that about one inode
    in 31 is a directory (fan-out around 30 entries per directory) and the tree is 3-5
    levels deep at 100k inodes;
  * mostly small regular files: ~20% empty, ~70% up to 512 bytes, ~10% up to 4 KiB;
    each starts with its own path (so chunks do not all deduplicate) followed by
    compressible filler, which keeps the data blob small;
  * ~3% symlinks (relative and absolute targets of varying length);
  * ~2% extra hard links to files elsewhere (extra names, not extra inodes);
  * names from 1 to ~200 bytes, a few with non-ASCII UTF-8 characters.

COUNT counts inodes (the root directory included; hard links do not add any), which is
what `nydus-image inspect -R stats` reports as inodes_count.
"""

import os
import random
import sys

SEED = 0x6E797363616E  # "nyscan"
MTIME = 1_700_000_000  # fixed mtime so that rebuilt trees are byte-identical
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_-."
EXOTIC = ["é", "ß", "ж", "語", "λ", "ü"]
FILLER = b"The quick brown fox jumps over the lazy dog. " * 100


def make_name(rng, index, suffix=""):
    """A unique-within-its-directory name: an index in base 36 plus a random tail."""
    digits = ""
    n = index
    while True:
        n, r = divmod(n, 36)
        digits = ALPHABET[r] + digits
        if n == 0:
            break
    roll = rng.random()
    if roll < 0.15:
        tail_len = 0
    elif roll < 0.85:
        tail_len = rng.randint(3, 24)
    elif roll < 0.98:
        tail_len = rng.randint(25, 80)
    else:
        tail_len = rng.randint(81, 190)
    tail = "".join(rng.choice(ALPHABET) for _ in range(tail_len))
    if tail_len and rng.random() < 0.02:
        tail += rng.choice(EXOTIC)
    name = digits + ("-" + tail if tail else "") + suffix
    # Never "." or ".." (a bare index never is), never longer than NAME_MAX.
    return name[:250]


def file_size(rng):
    roll = rng.random()
    if roll < 0.20:
        return 0
    if roll < 0.90:
        return rng.randint(1, 512)
    return rng.randint(513, 4096)


def generate(dest, count):
    rng = random.Random(SEED ^ count)
    if os.path.exists(dest) and os.listdir(dest):
        sys.exit(f"gen-tree: {dest} exists and is not empty")
    os.makedirs(dest, exist_ok=True)

    target_dirs = max(1, count // 31)
    # Directories, breadth first: (relative path, depth). The root is "".
    dirs = [("", 0)]
    queue = 0
    while len(dirs) < target_dirs:
        parent, depth = dirs[queue]
        queue += 1
        for i in range(rng.randint(3, 7)):
            if len(dirs) >= target_dirs:
                break
            rel = os.path.join(parent, make_name(rng, i, ".d"))
            dirs.append((rel, depth + 1))
    for rel, _ in dirs[1:]:
        os.mkdir(os.path.join(dest, rel))

    # Spread the remaining inodes over the directories, round robin with jitter.
    remaining = count - len(dirs)
    files = []  # relative paths of regular files, candidates for hard links
    # Per-directory name index; sub-directories took 0..6. The base-36 index before the first
    # "-" or "." is what keeps names unique within a directory.
    counters = [8] * len(dirs)
    made = 0
    hardlinks = 0
    symlinks = 0
    total_bytes = 0
    while made < remaining:
        d = rng.randrange(len(dirs))
        parent, depth = dirs[d]
        idx = counters[d]
        counters[d] += 1
        roll = rng.random()
        if roll < 0.02 and files:
            # An extra name for an existing file: no new inode.
            name = make_name(rng, idx, ".hl")
            os.link(os.path.join(dest, rng.choice(files)), os.path.join(dest, parent, name))
            hardlinks += 1
            continue
        if roll < 0.05:
            name = make_name(rng, idx, ".ln")
            path = os.path.join(dest, parent, name)
            kind = rng.random()
            if kind < 0.4 and files:
                target = "/" + rng.choice(files)
            elif kind < 0.8 and files:
                target = os.path.relpath(rng.choice(files), parent or ".")
            else:  # dangling, long
                target = "../" * rng.randint(0, depth) + "missing/" + "x" * rng.randint(1, 200)
            os.symlink(target, path)
            os.utime(path, (MTIME, MTIME), follow_symlinks=False)
            symlinks += 1
            made += 1
            continue
        name = make_name(rng, idx)
        rel = os.path.join(parent, name)
        size = file_size(rng)
        header = (rel + "\n").encode()
        data = (header + FILLER * (1 + size // len(FILLER)))[:size]
        path = os.path.join(dest, rel)
        with open(path, "wb") as f:
            f.write(data)
        if rng.random() < 0.1:
            os.chmod(path, 0o755)
        elif rng.random() < 0.05:
            os.chmod(path, 0o600)
        else:
            os.chmod(path, 0o644)
        os.utime(path, (MTIME, MTIME))
        files.append(rel)
        total_bytes += size
        made += 1

    for rel, _ in reversed(dirs):
        os.utime(os.path.join(dest, rel), (MTIME, MTIME))

    depth = max(d for _, d in dirs)
    print(
        f"gen-tree: {dest}: {count} inodes = {len(dirs)} dirs (max depth {depth}) "
        f"+ {len(files)} files ({total_bytes / 1e6:.1f} MB) + {symlinks} symlinks; "
        f"{hardlinks} extra hard links"
    )


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[2].strip())
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 100_000
    if count < 1:
        sys.exit("gen-tree: COUNT must be at least 1")
    generate(sys.argv[1], count)


if __name__ == "__main__":
    main()
