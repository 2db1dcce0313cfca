//! `nyscan mount` and `nyscan umount`: the FUSE view of an image, in the foreground or as a
//! daemon.
//!
//! `--daemon` does not fork (that would need unsafe code): the command starts itself again
//! with [`DAEMON_ENV`] set, the new process mounts and serves, and the first one returns once
//! the mount is visible in `/proc/self/mountinfo` and the pid file is written.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nyscan_fuse::{Ended, FsOptions, ImageFs, MountOptions, MountState, Unmounted};
use nyscan_image::ChunkReader;
use nyscan_rafs::Bootstrap;

use crate::cli::{MountArgs, UmountArgs};

/// Set (to the pid file's path) in the environment of the process `--daemon` starts.
const DAEMON_ENV: &str = "NYSCAN_MOUNT_DAEMON_PID_FILE";

/// How long `--daemon` waits for the mount to appear (a registry may be slow).
const DAEMON_TIMEOUT: Duration = Duration::from_secs(300);

/// The default pid file of a mount point: `$XDG_RUNTIME_DIR/nyscan/` or `/tmp/nyscan-UID/`,
/// named after the mount point's absolute path.
fn default_pid_file(mountpoint: &Path) -> PathBuf {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("nyscan"),
        None => {
            let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
            std::env::temp_dir().join(format!("nyscan-{uid}"))
        }
    };
    let name: String = mountpoint
        .to_string_lossy()
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("mount-{name}.pid"))
}

/// Makes `mountpoint` ready: a lost mount is cleaned up, a live one is refused.
fn prepare(mountpoint: &Path) -> Result<()> {
    match nyscan_fuse::mount_state(mountpoint)? {
        MountState::NotMounted => {}
        MountState::Lost => {
            eprintln!(
                "nyscan: {} is a lost mount (its process is gone); unmounting it",
                mountpoint.display()
            );
            nyscan_fuse::unmount(mountpoint)?;
        }
        MountState::Mounted { fs_type } => bail!(
            "{} is already a mount point ({fs_type}); unmount it first (`nyscan umount`)",
            mountpoint.display()
        ),
    }
    let meta = std::fs::metadata(mountpoint)
        .with_context(|| format!("cannot use {} as a mount point", mountpoint.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", mountpoint.display());
    }
    Ok(())
}

pub(crate) fn mount(args: &MountArgs) -> Result<ExitCode> {
    let mountpoint = nyscan_fuse::absolute(&args.mountpoint)?;
    let daemon_pid_file = std::env::var_os(DAEMON_ENV).map(PathBuf::from);
    if args.daemon && daemon_pid_file.is_none() {
        return spawn_daemon(args, &mountpoint);
    }
    if daemon_pid_file.is_some() {
        // Not fatal: the daemon still serves, only the terminal's signals reach it.
        if let Err(e) = nyscan_fuse::detach_from_terminal() {
            eprintln!("warning: {e}");
        }
    }
    let pid_file = daemon_pid_file.or_else(|| args.pid_file.clone());
    prepare(&mountpoint)?;

    // The mount serves until the process ends: the bootstrap, the blob source, the cache and
    // the engine are leaked to get the `'static` lifetime the FUSE threads need.
    let opened = crate::inspect::open(&args.source)?;
    let bytes: &'static nyscan_oci::BootstrapBytes = Box::leak(Box::new(opened.bytes));
    let blobs: &'static dyn nyscan_source::BlobSource = Box::leak(opened.blobs);
    let boot: &'static Bootstrap<'static> =
        Box::leak(Box::new(Bootstrap::parse(bytes).with_context(|| {
            format!("cannot read the bootstrap of {}", args.source.source)
        })?));
    let mut reader = ChunkReader::new(boot, blobs, crate::data::options(&args.fetch));
    if let Some(cache) = crate::data::cache(&args.fetch) {
        reader = reader.with_cache(Box::leak(Box::new(cache)));
    }
    let reader: &'static ChunkReader<'static, 'static> = Box::leak(Box::new(reader));
    let fs = ImageFs::new(
        reader,
        FsOptions {
            readahead_bytes: args.readahead << 20,
            amplify_bytes: args.amplify << 10,
            ..FsOptions::default()
        },
    );
    let prefetch = if args.prefetch {
        Some(fs.start_prefetch()?)
    } else {
        None
    };
    let started = Instant::now();
    let mounted = nyscan_fuse::mount(
        fs,
        &mountpoint,
        &MountOptions {
            threads: args.threads.max(1),
            allow_other: args.allow_other,
            fs_name: format!("nyscan:{}", args.source.source),
        },
    )?;
    if let Some(p) = &pid_file {
        write_pid_file(p)?;
    }
    eprintln!(
        "nyscan: mounted {} ({}) on {}",
        args.source.source,
        boot.version(),
        mountpoint.display()
    );
    let ended = mounted.wait()?;
    match ended {
        Ended::Signal(sig) => {
            eprintln!("nyscan: signal {sig}: unmounting {}", mountpoint.display());
            if mounted.unmount()? == Unmounted::Lazy {
                eprintln!(
                    "nyscan: {} was busy: detached; it goes away when its last user leaves",
                    mountpoint.display()
                );
            }
        }
        Ended::Unmounted => {
            eprintln!("nyscan: {} was unmounted", mountpoint.display());
            let _ = mounted.unmount();
        }
    }
    if let Some(p) = &pid_file {
        let _ = std::fs::remove_file(p);
    }
    if let Some(handle) = prefetch.filter(|h| h.is_finished())
        && let Ok(n) = handle.join()
        && args.fetch.stats
    {
        eprintln!("prefetched: {n} chunks");
    }
    if args.fetch.stats {
        crate::data::print_stats(reader, started);
    }
    Ok(ExitCode::SUCCESS)
}

fn write_pid_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, format!("{}\n", std::process::id()))
        .with_context(|| format!("cannot write the pid file {}", path.display()))
}

/// `--daemon`: starts this command again in the background and waits for its mount.
fn spawn_daemon(args: &MountArgs, mountpoint: &Path) -> Result<ExitCode> {
    prepare(mountpoint)?;
    let pid_file = args
        .pid_file
        .clone()
        .unwrap_or_else(|| default_pid_file(mountpoint));
    let pid_file = if pid_file.is_absolute() {
        pid_file
    } else {
        std::env::current_dir()?.join(pid_file)
    };
    let log_file = args
        .log_file
        .clone()
        .unwrap_or_else(|| pid_file.with_extension("log"));
    for p in [&pid_file, &log_file] {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
    }
    let _ = std::fs::remove_file(&pid_file);
    let log = std::fs::File::create(&log_file)
        .with_context(|| format!("cannot create the log file {}", log_file.display()))?;
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let mut child = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(DAEMON_ENV, &pid_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start the mount process")?;
    let deadline = Instant::now() + DAEMON_TIMEOUT;
    let expected_pid = child.id().to_string();
    loop {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&log_file).unwrap_or_default();
            bail!(
                "the mount process ended ({status}) before mounting:\n{}",
                log.trim_end()
            );
        }
        let mounted = matches!(
            nyscan_fuse::mount_state(mountpoint)?,
            MountState::Mounted { fs_type } if fs_type.starts_with("fuse")
        );
        let pid_written =
            std::fs::read_to_string(&pid_file).is_ok_and(|p| p.trim() == expected_pid);
        if mounted && pid_written {
            eprintln!(
                "nyscan: serving {} from process {} (pid file {}, log {})",
                mountpoint.display(),
                expected_pid,
                pid_file.display(),
                log_file.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{} did not appear within {} s; see {}",
                mountpoint.display(),
                DAEMON_TIMEOUT.as_secs(),
                log_file.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn umount(args: &UmountArgs) -> Result<ExitCode> {
    let mountpoint = nyscan_fuse::absolute(&args.mountpoint)?;
    let how = nyscan_fuse::unmount(&mountpoint)?;
    match how {
        Unmounted::Clean => eprintln!("nyscan: unmounted {}", mountpoint.display()),
        Unmounted::Lazy => eprintln!(
            "nyscan: {} was busy: detached; it goes away when its last user leaves",
            mountpoint.display()
        ),
    }
    // A daemon ends by itself once its mount is gone; wait a little for it and tidy up.
    let pid_file = args
        .pid_file
        .clone()
        .unwrap_or_else(|| default_pid_file(&mountpoint));
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        let pid = pid.trim();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if !alive(pid) {
            let _ = std::fs::remove_file(&pid_file);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether process `pid` runs (a zombie does not).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
}
