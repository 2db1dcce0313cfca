//! Mounting, waiting, unmounting, and finding out what is mounted where.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fuser::{BackgroundSession, Config, MountOption, SessionACL};
use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::fs::ImageFs;

/// How a view is mounted.
#[derive(Debug, Clone)]
pub struct MountOptions {
    /// Threads serving FUSE requests (reads of different files run in parallel).
    pub threads: usize,
    /// Let other users than the mounting one see the mount (`allow_other`).
    pub allow_other: bool,
    /// The `source` column of `/proc/self/mountinfo`.
    pub fs_name: String,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            threads: 4,
            allow_other: false,
            fs_name: "nyscan".into(),
        }
    }
}

/// A live mount, served by background threads. Dropping it unmounts.
#[derive(Debug)]
pub struct Mounted {
    session: BackgroundSession,
    mountpoint: PathBuf,
}

/// Mounts `fs` read-only on `mountpoint` (an existing directory) and serves it from
/// background threads until [`Mounted::unmount`] or an outside unmount.
pub fn mount(fs: ImageFs, mountpoint: &Path, options: &MountOptions) -> Result<Mounted> {
    let mountpoint = absolute(mountpoint)?;
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::RO,
        MountOption::NoSuid,
        MountOption::NoDev,
        MountOption::DefaultPermissions,
        MountOption::FSName(options.fs_name.clone()),
        MountOption::Subtype("nyscan".into()),
    ];
    if options.allow_other {
        config.acl = SessionACL::All;
    }
    config.n_threads = Some(options.threads.max(1));
    config.clone_fd = options.threads > 1;
    let session = fuser::Session::new(fs, &mountpoint, &config)
        .and_then(fuser::Session::spawn)
        .map_err(|source| Error::Mount {
            path: mountpoint.clone(),
            source,
        })?;
    Ok(Mounted {
        session,
        mountpoint,
    })
}

/// Why [`Mounted::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The process got this signal (SIGINT, SIGTERM or SIGHUP).
    Signal(i32),
    /// The filesystem was unmounted from outside (`umount`, `nyscan umount`).
    Unmounted,
}

impl Mounted {
    /// Where it is mounted.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// True while the session serves requests.
    pub fn is_serving(&self) -> bool {
        !self.session.guard.is_finished()
    }

    /// Blocks until SIGINT, SIGTERM or SIGHUP arrives, or the mount goes away.
    pub fn wait(&self) -> Result<Ended> {
        let got = Arc::new(AtomicUsize::new(0));
        let mut ids = Vec::new();
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            ids.push(
                signal_hook::flag::register_usize(sig, got.clone(), sig as usize)
                    .map_err(Error::Signals)?,
            );
        }
        let ended = loop {
            let sig = got.load(Ordering::SeqCst);
            if sig != 0 {
                break Ended::Signal(sig as i32);
            }
            if !self.is_serving() {
                break Ended::Unmounted;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for id in ids {
            signal_hook::low_level::unregister(id);
        }
        Ok(ended)
    }

    /// Unmounts and waits for the serving threads. A busy mount is detached lazily (the
    /// kernel finishes it when its last user leaves) and the threads are not waited for.
    pub fn unmount(self) -> Result<Unmounted> {
        let Mounted {
            session,
            mountpoint,
        } = self;
        if session.guard.is_finished() {
            let _ = session.join();
            return Ok(Unmounted::Clean);
        }
        match session.umount_and_join() {
            Ok(()) => Ok(Unmounted::Clean),
            Err(e) if e.raw_os_error() == Some(libc_ebusy()) => {
                nix::mount::umount2(&mountpoint, nix::mount::MntFlags::MNT_DETACH).map_err(
                    |errno| Error::Unmount {
                        path: mountpoint.clone(),
                        source: errno.into(),
                    },
                )?;
                Ok(Unmounted::Lazy)
            }
            Err(source) => Err(Error::Unmount {
                path: mountpoint,
                source,
            }),
        }
    }
}

fn libc_ebusy() -> i32 {
    Errno::EBUSY as i32
}

/// How [`unmount`] got rid of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmounted {
    /// Unmounted at once.
    Clean,
    /// Busy: detached (`umount -l`); the kernel finishes when its users leave.
    Lazy,
}

/// What is mounted on a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountState {
    /// Nothing: a plain directory (or not a directory at all).
    NotMounted,
    /// A filesystem of this type (`fuse.nyscan` for ours) that answers.
    Mounted {
        /// The type column of `/proc/self/mountinfo`.
        fs_type: String,
    },
    /// A FUSE mount whose server is gone: every access fails with ENOTCONN.
    Lost,
}

/// `path` made absolute without touching the last component (which may be a lost mount
/// that cannot be examined).
pub fn absolute(path: &Path) -> Result<PathBuf> {
    let io_err = |source| Error::Path {
        path: path.to_path_buf(),
        source,
    };
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(io_err)?.join(path)
    };
    let name = abs.file_name().map(|n| n.to_os_string());
    match (abs.parent(), name) {
        (Some(parent), Some(name)) => Ok(std::fs::canonicalize(parent).map_err(io_err)?.join(name)),
        _ => Ok(abs),
    }
}

/// What is mounted on `path`, from `stat` and `/proc/self/mountinfo`.
pub fn mount_state(path: &Path) -> Result<MountState> {
    let abs = absolute(path)?;
    if let Err(e) = std::fs::symlink_metadata(&abs)
        && e.raw_os_error() == Some(Errno::ENOTCONN as i32)
    {
        return Ok(MountState::Lost);
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo").map_err(|source| Error::Path {
        path: "/proc/self/mountinfo".into(),
        source,
    })?;
    // The last mount on a point is the visible one.
    let fs_type = info
        .lines()
        .filter_map(parse_mountinfo_line)
        .filter(|(point, _)| *point == abs)
        .map(|(_, t)| t)
        .next_back();
    Ok(match fs_type {
        Some(fs_type) => MountState::Mounted { fs_type },
        None => MountState::NotMounted,
    })
}

/// The mount point and type of one `/proc/self/mountinfo` line.
fn parse_mountinfo_line(line: &str) -> Option<(PathBuf, String)> {
    let mut fields = line.split(' ');
    let point = fields.nth(4)?;
    let rest: Vec<&str> = fields.collect();
    let dash = rest.iter().position(|f| *f == "-")?;
    let fs_type = rest.get(dash + 1)?;
    Some((
        PathBuf::from(std::ffi::OsStr::from_bytes(&unescape(point))),
        (*fs_type).to_owned(),
    ))
}

/// Undoes the kernel's octal escapes (`\040` for a space...).
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Unmounts whatever is mounted on `path`, live or lost: `umount(2)`, then a lazy detach
/// (`MNT_DETACH`) when busy, then `fusermount3 -u -z` (for users without the right to
/// unmount). [`Error::NotMounted`] when nothing is mounted there.
pub fn unmount(path: &Path) -> Result<Unmounted> {
    let abs = absolute(path)?;
    let first = match nix::mount::umount(&abs) {
        Ok(()) => return Ok(Unmounted::Clean),
        Err(Errno::EINVAL) if mount_state(&abs)? == MountState::NotMounted => {
            return Err(Error::NotMounted(abs));
        }
        Err(e) => e,
    };
    if nix::mount::umount2(&abs, nix::mount::MntFlags::MNT_DETACH).is_ok() {
        return Ok(Unmounted::Lazy);
    }
    for helper in ["fusermount3", "fusermount"] {
        let ok = std::process::Command::new(helper)
            .args(["-u", "-z", "--"])
            .arg(&abs)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(Unmounted::Lazy);
        }
    }
    Err(Error::Unmount {
        path: abs,
        source: io::Error::from(first),
    })
}

/// Leaves the controlling terminal's session (`setsid`), for a daemon: the terminal's
/// SIGINT and SIGHUP no longer reach it.
pub fn detach_from_terminal() -> Result<()> {
    nix::unistd::setsid()
        .map(|_| ())
        .map_err(|e| Error::Daemon(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mountinfo_lines() {
        let line = "36 35 98:0 /mnt1 /mnt/my\\040dir rw,noatime master:1 - fuse.nyscan nyscan rw,user_id=0";
        assert_eq!(
            parse_mountinfo_line(line),
            Some((PathBuf::from("/mnt/my dir"), "fuse.nyscan".into()))
        );
        assert_eq!(parse_mountinfo_line("garbage"), None);
        assert_eq!(unescape("a\\134b\\0"), b"a\\b\\0");
    }

    #[test]
    fn a_plain_directory_is_not_mounted() {
        let dir = std::env::temp_dir();
        assert_eq!(mount_state(&dir.join(".")).ok().map(|_| ()), Some(()));
        let tmp = dir.join(format!("nyscan-fuse-test-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        assert_eq!(mount_state(&tmp).unwrap(), MountState::NotMounted);
        assert!(matches!(unmount(&tmp), Err(Error::NotMounted(_))));
        std::fs::remove_dir(&tmp).unwrap();
    }
}
