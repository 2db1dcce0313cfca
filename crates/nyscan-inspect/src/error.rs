//! Errors of inspector commands.

/// Why a command could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// A command name the inspector does not know.
    #[error("unknown command {0:?} (try `help`)")]
    UnknownCommand(String),
    /// A command given without its argument.
    #[error("`{0}` needs an argument")]
    MissingArgument(&'static str),
    /// A command given an argument it cannot use.
    #[error("invalid argument {arg:?} for `{command}`: {reason}")]
    BadArgument {
        /// The command.
        command: &'static str,
        /// The argument given.
        arg: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A path that names nothing.
    #[error("no such file or directory: {0}")]
    NotFound(String),
    /// `cd` to something that is not a directory.
    #[error("{0} is not a directory")]
    NotADirectory(String),
    /// The bootstrap could not be read.
    #[error("cannot read the bootstrap")]
    Format(#[from] nyscan_rafs::Error),
}
