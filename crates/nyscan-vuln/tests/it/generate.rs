//! Deterministic generators of version strings per ecosystem, dense in the corners each
//! order is known for (tildes, carets, epochs, suffix ranks, leading zeros, qualifiers,
//! invalid spellings), and pairs that share prefixes so comparisons go deep.

/// xorshift64*: small, deterministic, good enough to spread test cases.
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// A small number, sometimes with leading zeros, sometimes large.
    pub(crate) fn number(&mut self) -> String {
        match self.below(10) {
            0 => "0".to_owned(),
            1 => format!("0{}", self.below(10)),
            2 => format!("{}", self.below(100_000)),
            3 => format!("{}", 20_000_000 + self.below(10_000_000)),
            _ => format!("{}", self.below(12)),
        }
    }

    fn numbers(&mut self, max: usize, sep: &str) -> String {
        let n = 1 + self.below(max);
        (0..n).map(|_| self.number()).collect::<Vec<_>>().join(sep)
    }
}

/// Pairs from a pool of versions: random pairs, and pairs made from one version and a copy
/// cut and re-grown with another generated tail.
pub(crate) fn pairs(
    rng: &mut Rng,
    count: usize,
    mut make: impl FnMut(&mut Rng) -> String,
) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let a = make(rng);
        let b = match rng.below(4) {
            0 => make(rng),
            1 => a.clone(),
            _ => {
                let other = make(rng);
                let cut = floor_char(&a, rng.below(a.len() + 1));
                let tail_from = floor_char(&other, rng.below(other.len() + 1));
                format!("{}{}", &a[..cut], &other[tail_from..])
            }
        };
        if !a.contains(['\t', '\n']) && !b.contains(['\t', '\n']) {
            out.push((a, b));
        }
    }
    out
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Pairs of real versions: neighbours after a plain sort (similar strings), and random pairs.
pub(crate) fn real_pairs(rng: &mut Rng, versions: &[String]) -> Vec<(String, String)> {
    let mut sorted = versions.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut out: Vec<(String, String)> = sorted
        .windows(2)
        .map(|w| (w[0].clone(), w[1].clone()))
        .collect();
    for _ in 0..sorted.len() {
        let a = &sorted[rng.below(sorted.len())];
        let b = &sorted[rng.below(sorted.len())];
        out.push((a.clone(), b.clone()));
    }
    out
}

pub(crate) fn dpkg(rng: &mut Rng) -> String {
    let mut v = String::new();
    if rng.chance(25) {
        v.push_str(&format!("{}:", rng.pick(&["0", "1", "2", "10", "01"])));
    }
    if rng.chance(5) {
        v.push_str(rng.pick(&["a", "~", "+"]));
    }
    v.push_str(&rng.number());
    for _ in 0..rng.below(5) {
        v.push_str(rng.pick(&[".", ".", "~", "+", "", "-"]));
        v.push_str(&match rng.below(4) {
            0 => rng
                .pick(&[
                    "a", "b", "rc", "dfsg", "git", "alpha", "beta", "A", "Z", "~", "+", "ds",
                ])
                .to_owned(),
            _ => rng.number(),
        });
    }
    if rng.chance(70) {
        v.push('-');
        v.push_str(rng.pick(&[
            "1",
            "0ubuntu1",
            "1+deb12u1",
            "1+deb12u10",
            "2~bpo11+1",
            "1ubuntu0.22.04.1",
            "0.1",
            "1build1",
            "~rc1",
            "1.1~",
            "",
        ]));
    }
    if rng.chance(3) {
        v.push_str(rng.pick(&["@", "_", " ", ":", "é", "%"]));
    }
    v
}

pub(crate) fn rpm(rng: &mut Rng) -> String {
    let mut v = String::new();
    if rng.chance(25) {
        v.push_str(&format!("{}:", rng.pick(&["0", "1", "2", "10", "01", ""])));
    }
    v.push_str(&rng.number());
    for _ in 0..rng.below(5) {
        v.push_str(rng.pick(&[".", ".", "~", "^", "_", "+", "", "..", "%"]));
        v.push_str(&match rng.below(4) {
            0 => rng
                .pick(&[
                    "a", "b", "rc", "git", "alpha", "p", "el", "fc", "post", "Z", "~", "^",
                ])
                .to_owned(),
            _ => rng.number(),
        });
    }
    if rng.chance(75) {
        v.push('-');
        v.push_str(rng.pick(&[
            "1",
            "1.el9",
            "1.el9_4",
            "225.el9",
            "251.el9_4.2",
            "0.rc1.fc39",
            "1^git1",
            "2~pre",
            "3.fc40",
            "",
        ]));
    }
    v
}

pub(crate) fn apk(rng: &mut Rng) -> String {
    let mut v = rng.number();
    for _ in 0..rng.below(4) {
        v.push('.');
        v.push_str(&rng.number());
    }
    if rng.chance(25) {
        v.push_str(rng.pick(&["a", "b", "z", "p"]));
    }
    for _ in 0..rng.below(3) {
        v.push('_');
        v.push_str(rng.pick(&["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"]));
        if rng.chance(60) {
            v.push_str(&rng.number());
        }
    }
    if rng.chance(10) {
        v.push('~');
        v.push_str(rng.pick(&["abc", "0123", "deadbeef", "f"]));
    }
    if rng.chance(70) {
        v.push_str("-r");
        v.push_str(&rng.number());
    }
    if rng.chance(8) {
        // Outside the grammar.
        let junk = rng.pick(&[
            "x", "_foo", "-1", ".", "A", "-r", "..1", "_", "bc", "-r1-r2",
        ]);
        let at = rng.below(v.len() + 1);
        v.insert_str(at, junk);
    }
    v
}

pub(crate) fn pep440(rng: &mut Rng) -> String {
    let mut v = String::new();
    if rng.chance(5) {
        v.push_str(rng.pick(&["v", "V", " "]));
    }
    if rng.chance(10) {
        v.push_str(&format!("{}!", rng.below(3)));
    }
    v.push_str(&rng.numbers(4, "."));
    if rng.chance(40) {
        v.push_str(rng.pick(&["", ".", "-", "_"]));
        v.push_str(rng.pick(&[
            "a", "b", "rc", "c", "alpha", "beta", "pre", "preview", "A", "RC",
        ]));
        if rng.chance(80) {
            v.push_str(&rng.number());
        }
    }
    if rng.chance(25) {
        v.push_str(rng.pick(&[".post", "-post", "post", "-", ".rev", ".r", "_post"]));
        if rng.chance(80) {
            v.push_str(&rng.number());
        }
    }
    if rng.chance(25) {
        v.push_str(rng.pick(&[".dev", "dev", "-dev", "_dev"]));
        if rng.chance(70) {
            v.push_str(&rng.number());
        }
    }
    if rng.chance(15) {
        v.push('+');
        v.push_str(rng.pick(&[
            "local", "ubuntu.1", "1.2", "abc-1", "cpu", "cu118", "A.B", "0",
        ]));
    }
    if rng.chance(4) {
        v.push_str(rng.pick(&["x", "..", "+", "!", " 1"]));
    }
    v
}

fn semver_core(rng: &mut Rng) -> String {
    let mut v = format!("{}.{}.{}", rng.number(), rng.number(), rng.number());
    if rng.chance(40) {
        v.push('-');
        let n = 1 + rng.below(3);
        let ids: Vec<String> = (0..n)
            .map(|_| match rng.below(3) {
                0 => rng.number(),
                _ => rng
                    .pick(&[
                        "alpha", "beta", "rc", "x-y", "RC", "a1", "0a", "-", "pre", "B",
                    ])
                    .to_owned(),
            })
            .collect();
        v.push_str(&ids.join("."));
    }
    if rng.chance(20) {
        v.push('+');
        v.push_str(rng.pick(&["build.1", "001", "sha.abc", "incompatible", "x-y"]));
    }
    v
}

pub(crate) fn npm(rng: &mut Rng) -> String {
    let mut v = String::new();
    if rng.chance(8) {
        v.push_str(rng.pick(&["v", " ", "=", "V"]));
    }
    v.push_str(&semver_core(rng));
    if rng.chance(5) {
        v = match rng.below(3) {
            0 => format!("{}.{}", rng.number(), rng.number()),
            1 => format!("{v}.{}", rng.number()),
            _ => format!("{v}-"),
        };
    }
    v
}

pub(crate) fn go(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => format!(
            "v0.0.0-{}{:02}{:02}{:06}-{:012x}",
            2015 + rng.below(10),
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(240000),
            rng.next() & 0xffff_ffff_ffff
        ),
        1 => format!(
            "v{}.{}.{}-0.{}{:06}-{:012x}",
            rng.below(3),
            rng.below(5),
            rng.below(5),
            20200101 + rng.below(40000),
            rng.below(240000),
            rng.next() & 0xffff_ffff_ffff
        ),
        2 => format!("v{}", rng.number()),
        3 => format!("v{}.{}", rng.number(), rng.number()),
        4 => format!("v{}+incompatible", semver_core(rng)),
        _ => format!("v{}", semver_core(rng)),
    }
}

pub(crate) fn maven(rng: &mut Rng) -> String {
    let mut v = rng.number();
    for _ in 0..rng.below(6) {
        v.push_str(rng.pick(&[".", ".", "-", "", "-", "."]));
        v.push_str(&match rng.below(3) {
            0 => rng
                .pick(&[
                    "alpha",
                    "a",
                    "beta",
                    "b",
                    "milestone",
                    "m",
                    "rc",
                    "cr",
                    "snapshot",
                    "SNAPSHOT",
                    "ga",
                    "final",
                    "Final",
                    "RELEASE",
                    "sp",
                    "foo",
                    "jre",
                    "android",
                    "",
                    "x",
                ])
                .to_owned(),
            _ => rng.number(),
        });
    }
    v
}

pub(crate) fn rubygems(rng: &mut Rng) -> String {
    let mut v = rng.numbers(4, ".");
    if rng.chance(40) {
        v.push_str(rng.pick(&[".", "", "-", ".pre."]));
        v.push_str(rng.pick(&[
            "a", "b", "rc", "pre", "beta", "alpha", "Z", "rc1", "a.1", "0",
        ]));
        if rng.chance(50) {
            v.push_str(&rng.number());
        }
    }
    if rng.chance(15) {
        v.push_str(&format!(".{}", rng.number()));
    }
    if rng.chance(5) {
        v.push_str(rng.pick(&[" ", "..", "_", "-", " x"]));
    }
    v
}

pub(crate) fn packagist(rng: &mut Rng) -> String {
    let mut v = String::new();
    if rng.chance(15) {
        v.push('v');
    }
    if rng.chance(8) {
        v.push_str(&format!(
            "{}{:02}{:02}",
            2000 + rng.below(30),
            1 + rng.below(12),
            1 + rng.below(28)
        ));
    } else {
        v.push_str(&rng.numbers(4, "."));
    }
    if rng.chance(40) {
        v.push_str(rng.pick(&["-", ".", "_", ""]));
        v.push_str(rng.pick(&[
            "beta", "b", "RC", "rc", "alpha", "a", "patch", "pl", "p", "stable", "dev", "Beta",
        ]));
        if rng.chance(60) {
            v.push_str(rng.pick(&["", ".", "-"]));
            v.push_str(&rng.number());
        }
    }
    if rng.chance(8) {
        v.push_str(rng.pick(&["-dev", ".x-dev", "+build.1", "@beta", " as 1.0", "x"]));
    }
    v
}
