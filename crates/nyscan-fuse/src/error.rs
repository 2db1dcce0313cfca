//! Errors of mounting and unmounting.

use std::path::PathBuf;

/// Why a mount or an unmount failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel refused the mount, or the FUSE handshake failed.
    #[error("cannot mount on {}", path.display())]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The unmount failed (even lazily).
    #[error("cannot unmount {}", path.display())]
    Unmount {
        /// The mount point.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Nothing is mounted there.
    #[error("nothing is mounted on {}", .0.display())]
    NotMounted(PathBuf),
    /// A path could not be examined.
    #[error("cannot examine {}", path.display())]
    Path {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers")]
    Signals(#[source] std::io::Error),
    /// Detaching from the terminal failed.
    #[error("cannot detach from the terminal")]
    Daemon(#[source] std::io::Error),
}

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
