#!/usr/bin/env python3
"""Write a deterministic large file for the mount benchmark (bench/mount.sh).

    bench/gen-big.py DEST [MIB]         (MIB defaults to 256)

The file is made of 64 KiB blocks, each picked by a seeded PRNG:
  * ~30% random bytes (incompressible);
  * ~55% a slice, at a random offset, of a 4 MiB pool of random English-like words
    (compresses to roughly a third or half with zstd);
  * ~15% a short random phrase repeated (compresses to almost nothing).
No two 1 MiB chunks are equal, so the builder's chunk de-duplication does not shrink the
blob: a reader has to fetch and decompress every chunk.
"""

import random
import sys

SEED = 0x6269672D66696C65  # "big-file"
BLOCK = 64 * 1024
POOL = 4 * 1024 * 1024


def word_pool(rng):
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "pe", "do", "va", "zu", "ri",
                 "an", "el", "or", "um", "ist", "ing", "tion", "er", "the", "and", "of"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
             for _ in range(5000)]
    out = []
    size = 0
    while size < POOL + BLOCK:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
        line = line.capitalize() + ".\n"
        out.append(line)
        size += len(line)
    return "".join(out).encode()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: gen-big.py DEST [MIB]")
    mib = int(sys.argv[2]) if len(sys.argv) == 3 else 256
    rng = random.Random(SEED)
    pool = word_pool(rng)
    with open(sys.argv[1], "wb") as f:
        for _ in range(mib * 1024 * 1024 // BLOCK):
            kind = rng.random()
            if kind < 0.30:
                block = rng.randbytes(BLOCK)
            elif kind < 0.85:
                off = rng.randrange(POOL)
                block = pool[off:off + BLOCK]
            else:
                phrase = rng.randbytes(rng.randint(8, 64)).hex().encode()
                block = (phrase * (BLOCK // len(phrase) + 1))[:BLOCK]
            f.write(block)


if __name__ == "__main__":
    main()
