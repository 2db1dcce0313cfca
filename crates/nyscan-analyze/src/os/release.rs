//! Distribution detection from release files, with Trivy's family names.
//!
//! `os-release` names only the families Trivy takes from it (Debian and Ubuntu come from
//! `debian_version` and `lsb-release`); the RHEL family's `*-release` files are read as
//! `NAME release VERSION`; Amazon Linux from `system-release`.

use crate::analyzer::{AnalyzeError, Analyzer, Context, FileMeta, Findings, Initial, Phase};
use crate::bytes::ByteSource;
use crate::package::OsInfo;

/// Release files are a few hundred bytes; more than this is read no further.
const MAX_RELEASE_BYTES: u64 = 64 * 1024;

/// Which parser a release file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReleaseKind {
    OsRelease,
    Alpine,
    Debian,
    Ubuntu,
    RedHat,
    CentOs,
    Rocky,
    Alma,
    Oracle,
    Fedora,
    Amazon,
}

const RELEASE_FILES: &[(&str, ReleaseKind)] = &[
    ("etc/os-release", ReleaseKind::OsRelease),
    ("usr/lib/os-release", ReleaseKind::OsRelease),
    (
        "aarch64-bottlerocket-linux-gnu/sys-root/usr/lib/os-release",
        ReleaseKind::OsRelease,
    ),
    (
        "x86_64-bottlerocket-linux-gnu/sys-root/usr/lib/os-release",
        ReleaseKind::OsRelease,
    ),
    ("etc/alpine-release", ReleaseKind::Alpine),
    ("etc/debian_version", ReleaseKind::Debian),
    ("etc/lsb-release", ReleaseKind::Ubuntu),
    ("etc/redhat-release", ReleaseKind::RedHat),
    ("etc/centos-release", ReleaseKind::CentOs),
    ("etc/rocky-release", ReleaseKind::Rocky),
    ("etc/almalinux-release", ReleaseKind::Alma),
    ("etc/oracle-release", ReleaseKind::Oracle),
    ("etc/fedora-release", ReleaseKind::Fedora),
    ("usr/lib/fedora-release", ReleaseKind::Fedora),
    ("etc/system-release", ReleaseKind::Amazon),
    ("usr/lib/system-release", ReleaseKind::Amazon),
];

/// Reads the release files of every supported distribution.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReleaseFiles;

impl Analyzer for ReleaseFiles {
    fn name(&self) -> &'static str {
        "os-release"
    }

    fn version(&self) -> u32 {
        1
    }

    fn phase(&self) -> Phase {
        Phase::Os
    }

    fn select(&self, path: &str, _meta: &FileMeta) -> Option<Initial> {
        kind_of(path).map(|_| Initial::Head(MAX_RELEASE_BYTES))
    }

    fn analyze(
        &self,
        path: &str,
        data: &dyn ByteSource,
        _context: &Context,
    ) -> Result<Findings, AnalyzeError> {
        let kind = kind_of(path)
            .ok_or_else(|| AnalyzeError::Invalid(format!("{path}: not a release file")))?;
        let bytes = data.read_up_to(0, MAX_RELEASE_BYTES as usize)?;
        let text = String::from_utf8_lossy(&bytes);
        let os = parse(kind, &text);
        // os-release names many distributions Trivy leaves to other files (Debian, Ubuntu):
        // nothing to report. The distribution's own release file must name it.
        if os.is_none() && kind != ReleaseKind::OsRelease {
            return Err(AnalyzeError::Invalid(format!(
                "{path}: no distribution release found"
            )));
        }
        Ok(Findings {
            os,
            ..Findings::default()
        })
    }
}

fn kind_of(path: &str) -> Option<ReleaseKind> {
    RELEASE_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, k)| *k)
}

fn os(family: &str, name: &str) -> Option<OsInfo> {
    Some(OsInfo {
        family: family.to_owned(),
        name: name.to_owned(),
    })
}

fn parse(kind: ReleaseKind, text: &str) -> Option<OsInfo> {
    let mut lines = text.lines();
    match kind {
        ReleaseKind::OsRelease => parse_os_release(text),
        ReleaseKind::Alpine => lines.next().and_then(|l| non_empty("alpine", l)),
        ReleaseKind::Debian => lines.next().and_then(|l| non_empty("debian", l)),
        ReleaseKind::Ubuntu => {
            let mut is_ubuntu = false;
            for line in lines {
                if line == "DISTRIB_ID=Ubuntu" {
                    is_ubuntu = true;
                } else if is_ubuntu && let Some(release) = line.strip_prefix("DISTRIB_RELEASE=") {
                    return os("ubuntu", release.trim());
                }
            }
            None
        }
        ReleaseKind::Amazon => {
            for line in lines {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if line.starts_with("Amazon Linux release 2") {
                    if fields.len() >= 5 {
                        return os("amazon", &fields[3..].join(" "));
                    }
                } else if line.starts_with("Amazon Linux") {
                    return os("amazon", &fields.get(2..).unwrap_or_default().join(" "));
                }
            }
            None
        }
        _ => {
            for line in lines {
                // A line that is not "NAME release N" ends the search, as in Trivy.
                let (name, version) = split_release_line(line.trim())?;
                let name = name.to_ascii_lowercase();
                let family = match kind {
                    ReleaseKind::RedHat => redhat_family(&name),
                    ReleaseKind::Oracle => "oracle",
                    ReleaseKind::CentOs => {
                        if !matches!(name.as_str(), "centos" | "centos linux") {
                            continue;
                        }
                        "centos"
                    }
                    ReleaseKind::Rocky => {
                        if !matches!(name.as_str(), "rocky" | "rocky linux") {
                            continue;
                        }
                        "rocky"
                    }
                    ReleaseKind::Alma => {
                        if !matches!(name.as_str(), "alma" | "almalinux" | "alma linux") {
                            continue;
                        }
                        "alma"
                    }
                    _ => {
                        if !matches!(name.as_str(), "fedora" | "fedora linux") {
                            continue;
                        }
                        "fedora"
                    }
                };
                return os(family, version);
            }
            None
        }
    }
}

fn non_empty(family: &str, line: &str) -> Option<OsInfo> {
    let line = line.trim();
    (!line.is_empty()).then(|| os(family, line)).flatten()
}

fn redhat_family(name: &str) -> &'static str {
    match name {
        "centos" | "centos linux" => "centos",
        "rocky" | "rocky linux" => "rocky",
        "alma" | "almalinux" | "alma linux" => "alma",
        "oracle" | "oracle linux" | "oracle linux server" => "oracle",
        "fedora" | "fedora linux" => "fedora",
        _ => "redhat",
    }
}

/// `NAME release N[.N...]...`: the last ` release ` followed by a digit splits it.
fn split_release_line(line: &str) -> Option<(&str, &str)> {
    let mut best = None;
    let mut from = 0;
    while let Some(at) = line[from..].find(" release ") {
        let start = from + at;
        let after = &line[start + " release ".len()..];
        if after.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_digit() || *b == b'.')
                .count();
            best = Some((&line[..start], &after[..len]));
        }
        from = start + 1;
    }
    best
}

fn parse_os_release(text: &str) -> Option<OsInfo> {
    let (mut id, mut name, mut version_id) = ("", "", "");
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches(['"', '\'']);
        match key.trim() {
            "ID" => id = value,
            "NAME" => name = value,
            "VERSION_ID" => version_id = value,
            _ => {}
        }
    }
    let family = match id {
        "activestate" => "activestate",
        "rhel" => "redhat",
        "centos" if name == "CentOS Stream" => "centos-stream",
        "centos" => "centos",
        "rocky" => "rocky",
        "almalinux" => "alma",
        "ol" => "oracle",
        "fedora" => "fedora",
        "alpine" => "alpine",
        "bottlerocket" => "bottlerocket",
        "opensuse-tumbleweed" => "opensuse-tumbleweed",
        "opensuse-leap" | "opensuse" => "opensuse-leap",
        "sles" => "sles",
        "sle-micro" | "sl-micro" | "sle-micro-rancher" => "slem",
        "photon" => "photon",
        "wolfi" => "wolfi",
        "chainguard" => "chainguard",
        "azurelinux" => "azurelinux",
        "mariner" => "cbl-mariner",
        "echo" => "echo",
        "minimos" => "minimos",
        "coreos" => "coreos",
        _ => return None,
    };
    if version_id.is_empty() {
        return None;
    }
    os(family, version_id)
}

/// Folds the OS findings of several release files into one, as Trivy merges them: a generic
/// answer (`redhat` from `redhat-release`, `debian` from `debian_version`) gives way to a
/// specific one (Oracle Linux also has `redhat-release`, Ubuntu has `debian_version`).
/// `found` is in path order; the result does not depend on it beyond that.
pub fn merge_os(found: &[OsInfo]) -> Option<OsInfo> {
    let generic = |o: &OsInfo| matches!(o.family.as_str(), "redhat" | "debian");
    let mut ordered: Vec<&OsInfo> = found.iter().filter(|o| generic(o)).collect();
    ordered.extend(found.iter().filter(|o| !generic(o)));
    let mut merged: Option<OsInfo> = None;
    for new in ordered {
        match &mut merged {
            None => merged = Some(new.clone()),
            Some(current) if generic(current) => *current = new.clone(),
            Some(current) => {
                if current.name.is_empty() {
                    current.name = new.name.clone();
                }
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::FileView;

    fn detect(path: &str, text: &str) -> Option<OsInfo> {
        let meta = FileMeta {
            size: text.len() as u64,
            mode: 0o100644,
        };
        assert!(ReleaseFiles.select(path, &meta).is_some(), "{path}");
        let view = FileView::whole(text.as_bytes().to_vec());
        ReleaseFiles
            .analyze(path, &view, &Context::default())
            .ok()
            .and_then(|f| f.os)
    }

    fn info(family: &str, name: &str) -> Option<OsInfo> {
        os(family, name)
    }

    #[test]
    fn release_files_of_each_family() {
        assert_eq!(
            detect("etc/debian_version", "12.15\n"),
            info("debian", "12.15")
        );
        assert_eq!(
            detect("etc/alpine-release", "3.20.3\n"),
            info("alpine", "3.20.3")
        );
        assert_eq!(
            detect(
                "etc/lsb-release",
                "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n"
            ),
            info("ubuntu", "22.04")
        );
        assert_eq!(
            detect(
                "etc/redhat-release",
                "Red Hat Enterprise Linux release 9.3 (Plow)\n"
            ),
            info("redhat", "9.3")
        );
        assert_eq!(
            detect("etc/rocky-release", "Rocky Linux release 9.3 (Blue Onyx)\n"),
            info("rocky", "9.3")
        );
        assert_eq!(
            detect("etc/oracle-release", "Oracle Linux Server release 8.9\n"),
            info("oracle", "8.9")
        );
        assert_eq!(
            detect(
                "etc/centos-release",
                "CentOS Linux release 7.9.2009 (Core)\n"
            ),
            info("centos", "7.9.2009")
        );
        assert_eq!(
            detect("etc/system-release", "Amazon Linux release 2 (Karoo)\n"),
            info("amazon", "2 (Karoo)")
        );
        assert_eq!(
            detect(
                "usr/lib/system-release",
                "Amazon Linux release 2023.3.20240312 (Amazon Linux)\n"
            ),
            info("amazon", "2023.3.20240312 (Amazon Linux)")
        );
        assert_eq!(
            detect("usr/lib/fedora-release", "Fedora release 40 (Forty)\n"),
            info("fedora", "40")
        );
        assert_eq!(detect("etc/centos-release", "garbage\n"), None);
        assert_eq!(detect("etc/debian_version", ""), None);
    }

    #[test]
    fn os_release_ids() {
        let f = |id: &str, extra: &str| {
            detect(
                "etc/os-release",
                &format!("NAME=\"X\"\nID={id}\nVERSION_ID=\"1.2\"\n{extra}"),
            )
        };
        assert_eq!(f("alpine", ""), info("alpine", "1.2"));
        assert_eq!(f("\"rhel\"", ""), info("redhat", "1.2"));
        assert_eq!(f("almalinux", ""), info("alma", "1.2"));
        assert_eq!(f("ol", ""), info("oracle", "1.2"));
        assert_eq!(f("sles", ""), info("sles", "1.2"));
        assert_eq!(f("sle-micro", ""), info("slem", "1.2"));
        assert_eq!(f("opensuse-leap", ""), info("opensuse-leap", "1.2"));
        assert_eq!(f("photon", ""), info("photon", "1.2"));
        assert_eq!(f("wolfi", ""), info("wolfi", "1.2"));
        assert_eq!(f("chainguard", ""), info("chainguard", "1.2"));
        assert_eq!(f("azurelinux", ""), info("azurelinux", "1.2"));
        assert_eq!(f("mariner", ""), info("cbl-mariner", "1.2"));
        // Debian and Ubuntu are left to their own files, as Trivy does.
        assert_eq!(f("debian", ""), None);
        assert_eq!(f("ubuntu", ""), None);
        assert_eq!(
            detect(
                "etc/os-release",
                "NAME=\"CentOS Stream\"\nID=centos\nVERSION_ID=9\n"
            ),
            info("centos-stream", "9")
        );
        assert_eq!(detect("etc/os-release", "ID=alpine\n"), None);
    }

    #[test]
    fn merging_prefers_the_specific_family() {
        let debian = info("debian", "bookworm/sid").unwrap();
        let ubuntu = info("ubuntu", "22.04").unwrap();
        assert_eq!(
            merge_os(&[ubuntu.clone(), debian.clone()]),
            Some(ubuntu.clone())
        );
        assert_eq!(merge_os(&[debian.clone(), ubuntu.clone()]), Some(ubuntu));
        let redhat = info("redhat", "8.9").unwrap();
        let oracle = info("oracle", "8.9").unwrap();
        assert_eq!(merge_os(&[oracle.clone(), redhat]), Some(oracle));
        assert_eq!(merge_os(std::slice::from_ref(&debian)), Some(debian));
        assert_eq!(merge_os(&[]), None);
    }
}
