//! Parsing one inspector command line.

use std::str::FromStr;

use crate::error::InspectError;

/// One inspector command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Superblock summary.
    Stats,
    /// Entries of the current directory.
    Ls,
    /// Change the current directory.
    Cd(String),
    /// Attributes and chunks of an entry (relative to the current directory, or absolute).
    Stat(String),
    /// The blob table.
    Blobs,
    /// The prefetch table.
    Prefetch,
    /// Every file chunk stored at this compressed offset.
    Chunk(u64),
    /// Every path of an inode, and its attributes.
    Icheck(u64),
    /// The command list.
    Help,
    /// Leave the prompt.
    Exit,
}

impl Command {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Stats => "stats",
            Command::Ls => "ls",
            Command::Cd(_) => "cd",
            Command::Stat(_) => "stat",
            Command::Blobs => "blobs",
            Command::Prefetch => "prefetch",
            Command::Chunk(_) => "chunk",
            Command::Icheck(_) => "icheck",
            Command::Help => "help",
            Command::Exit => "exit",
        }
    }

    /// Every command name, for completion.
    pub const NAMES: [&'static str; 11] = [
        "stats", "ls", "cd", "stat", "blobs", "prefetch", "chunk", "icheck", "help", "exit", "q",
    ];

    /// Usage lines shown by `help`.
    pub const USAGE: &'static str = "\
stats            superblock summary: version, inode count, chunk size, tables
ls               entries of the current directory
cd DIR           change directory (relative, absolute, or ..)
stat NAME        attributes, xattrs and chunks of an entry
blobs            the blob table
prefetch         the prefetch table
chunk OFFSET     files with a chunk at this compressed offset (decimal or 0x hex)
icheck INODE     every path of an inode, and its attributes
help             this list
exit, q          leave";
}

fn number(command: &'static str, arg: &str) -> Result<u64, InspectError> {
    let parsed = match arg.strip_prefix("0x").or_else(|| arg.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => arg.parse(),
    };
    parsed.map_err(|_| InspectError::BadArgument {
        command,
        arg: arg.to_owned(),
        reason: "expected a number",
    })
}

impl FromStr for Command {
    type Err = InspectError;

    fn from_str(line: &str) -> Result<Command, InspectError> {
        let line = line.trim();
        let (name, arg) = match line.split_once(char::is_whitespace) {
            Some((n, a)) => (n, Some(a.trim())),
            None => (line, None),
        };
        let arg = arg.filter(|a| !a.is_empty());
        let required = |command: &'static str| arg.ok_or(InspectError::MissingArgument(command));
        let no_arg = |command: Command| match arg {
            None => Ok(command),
            Some(a) => Err(InspectError::BadArgument {
                command: command.name(),
                arg: a.to_owned(),
                reason: "takes no argument",
            }),
        };
        match name {
            "stats" => no_arg(Command::Stats),
            "ls" => no_arg(Command::Ls),
            "blobs" => no_arg(Command::Blobs),
            "prefetch" => no_arg(Command::Prefetch),
            "help" => no_arg(Command::Help),
            "exit" | "q" => no_arg(Command::Exit),
            "cd" => Ok(Command::Cd(required("cd")?.to_owned())),
            "stat" => Ok(Command::Stat(required("stat")?.to_owned())),
            "chunk" => Ok(Command::Chunk(number("chunk", required("chunk")?)?)),
            "icheck" => Ok(Command::Icheck(number("icheck", required("icheck")?)?)),
            other => Err(InspectError::UnknownCommand(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!("stats".parse::<Command>().unwrap(), Command::Stats);
        assert_eq!(
            " cd  a b ".parse::<Command>().unwrap(),
            Command::Cd("a b".into())
        );
        assert_eq!("chunk 0x10".parse::<Command>().unwrap(), Command::Chunk(16));
        assert_eq!("icheck 12".parse::<Command>().unwrap(), Command::Icheck(12));
        assert_eq!("q".parse::<Command>().unwrap(), Command::Exit);
        assert!(matches!(
            "cd".parse::<Command>(),
            Err(InspectError::MissingArgument("cd"))
        ));
        assert!(matches!(
            "ls x".parse::<Command>(),
            Err(InspectError::BadArgument { .. })
        ));
        assert!(matches!(
            "chunk x".parse::<Command>(),
            Err(InspectError::BadArgument { .. })
        ));
        assert!(matches!(
            "frob".parse::<Command>(),
            Err(InspectError::UnknownCommand(_))
        ));
    }
}
