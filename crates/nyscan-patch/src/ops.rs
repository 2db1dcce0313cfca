//! Patch operations: what `--replace`, `--add`, `--delete` and `--from` ask for, parsed and
//! checked for shape (absolute image paths that stay inside the root, octal modes, numeric
//! owners) before any image is opened.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::OpError;

/// Where an operation was written, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// On the command line (position among the operations, from 1).
    Argument(usize),
    /// Line `line` of an operations file.
    File {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Argument(n) => write!(f, "operation {n}"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
        }
    }
}

/// Owner of an added file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    /// Give the regular file at the path the content of a local file (`--replace`). The inode
    /// keeps its attributes, xattrs and hardlinks unless `--mode`/`--owner` change them.
    Replace {
        /// The local file.
        local: PathBuf,
    },
    /// Create a regular file at the path with the content of a local file (`--add`); missing
    /// parent directories are created.
    Add {
        /// The local file.
        local: PathBuf,
    },
    /// Remove the entry at the path; a directory goes with everything below it (`--delete`).
    Delete,
}

impl OpKind {
    /// The flag that asks for it (`replace`, `add`, `delete`).
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Replace { .. } => "replace",
            OpKind::Add { .. } => "add",
            OpKind::Delete => "delete",
        }
    }

    /// The local file giving the content, if any.
    pub fn local(&self) -> Option<&Path> {
        match self {
            OpKind::Replace { local } | OpKind::Add { local } => Some(local),
            OpKind::Delete => None,
        }
    }
}

/// One operation on the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The absolute path in the image, normalised (`/a/b`, no `.` or repeated `/`).
    pub path: String,
    /// What to do there.
    pub kind: OpKind,
    /// Permission bits (`--mode`, at most `0o7777`).
    pub mode: Option<u32>,
    /// Owner (`--owner UID:GID`).
    pub owner: Option<Owner>,
    /// Where it was written.
    pub origin: Origin,
}

/// Normalises an image path: absolute, `.` and empty components dropped; `..` refused.
pub fn image_path(raw: &str) -> Result<String, &'static str> {
    if !raw.starts_with('/') {
        return Err("image paths are absolute (start with /)");
    }
    if raw.contains('\0') {
        return Err("image paths cannot hold a NUL byte");
    }
    let mut out = String::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("the path escapes the image root (it has a `..` component)"),
            name if name.len() > 255 => return Err("a name is longer than 255 bytes"),
            name => {
                out.push('/');
                out.push_str(name);
            }
        }
    }
    if out.is_empty() {
        return Err("the path is the image root, which cannot be replaced, added or deleted");
    }
    Ok(out)
}

/// Parses `--mode` values: octal permission bits (`644`, `0755`, `0o4755`).
pub fn parse_mode(raw: &str) -> Result<u32, &'static str> {
    let digits = raw.strip_prefix("0o").unwrap_or(raw);
    let mode =
        u32::from_str_radix(digits, 8).map_err(|_| "expected octal permission bits like 0644")?;
    if digits.is_empty() || mode > 0o7777 {
        return Err("expected octal permission bits up to 07777");
    }
    Ok(mode)
}

/// Parses `--owner` values: `UID:GID`, numeric.
pub fn parse_owner(raw: &str) -> Result<Owner, &'static str> {
    let (uid, gid) = raw.split_once(':').ok_or("expected UID:GID")?;
    let num = |s: &str| s.parse::<u32>().map_err(|_| "expected numeric UID:GID");
    Ok(Owner {
        uid: num(uid)?,
        gid: num(gid)?,
    })
}

/// The flags an operation list is written with.
const FLAGS: [&str; 6] = [
    "--replace",
    "--add",
    "--delete",
    "--mode",
    "--owner",
    "--from",
];

/// Most operations files `--from` may nest through (a file may name another).
const MAX_FROM_DEPTH: usize = 8;
/// Largest operations file read.
const MAX_FROM_SIZE: u64 = 16 << 20;

/// Parses an ordered list of flags and values (`--replace /p=local`, `--add /p=local --mode
/// 0644 --owner 0:0`, `--delete /p`, `--from FILE`): `--mode` and `--owner` apply to the
/// `--add` or `--replace` before them; `--from` reads operations from a file, one per line
/// (the same syntax; blank lines and lines starting with `#` are skipped; `'` and `"` quote).
/// Relative local paths are taken from `base` (the working directory on the command line,
/// the operations file's directory inside one).
pub fn parse_ops(tokens: &[String], base: &Path) -> Result<Vec<Op>, OpError> {
    let mut ops = Vec::new();
    let mut counter = 0;
    parse_into(tokens, base, None, 0, &mut counter, &mut ops)?;
    Ok(ops)
}

fn parse_into(
    tokens: &[String],
    base: &Path,
    file_line: Option<(&Path, usize)>,
    depth: usize,
    counter: &mut usize,
    ops: &mut Vec<Op>,
) -> Result<(), OpError> {
    let mut i = 0;
    let mut last_op: Option<usize> = None;
    while i < tokens.len() {
        let flag = tokens[i].as_str();
        let origin = match file_line {
            Some((path, line)) => Origin::File {
                path: path.to_owned(),
                line,
            },
            None => Origin::Argument(*counter + 1),
        };
        let bad = |reason: String| OpError::Syntax {
            origin: origin.clone(),
            reason,
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if FLAGS.contains(&n) => (n, Some(v.to_owned())),
            _ => (flag, None),
        };
        if !FLAGS.contains(&name) {
            return Err(bad(format!(
                "unexpected {flag:?}: expected one of {}",
                FLAGS.join(", ")
            )));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                tokens
                    .get(i)
                    .cloned()
                    .ok_or_else(|| bad(format!("{name} needs a value")))?
            }
        };
        i += 1;
        let path_err = |raw: &str, reason: &'static str| OpError::Path {
            origin: origin.clone(),
            path: raw.to_owned(),
            reason,
        };
        match name {
            "--replace" | "--add" => {
                let (raw, local) = value
                    .split_once('=')
                    .ok_or_else(|| bad(format!("{name} needs /PATH=LOCAL, got {value:?}")))?;
                if local.is_empty() {
                    return Err(bad(format!("{name} {value:?} names no local file")));
                }
                let path = image_path(raw).map_err(|r| path_err(raw, r))?;
                let local = base.join(local);
                let kind = if name == "--add" {
                    OpKind::Add { local }
                } else {
                    OpKind::Replace { local }
                };
                *counter += 1;
                ops.push(Op {
                    path,
                    kind,
                    mode: None,
                    owner: None,
                    origin,
                });
                last_op = Some(ops.len() - 1);
            }
            "--delete" => {
                let path = image_path(&value).map_err(|r| path_err(&value, r))?;
                *counter += 1;
                ops.push(Op {
                    path,
                    kind: OpKind::Delete,
                    mode: None,
                    owner: None,
                    origin,
                });
                last_op = None;
            }
            "--mode" | "--owner" => {
                let Some(op) = last_op.and_then(|k| ops.get_mut(k)) else {
                    return Err(bad(format!(
                        "{name} applies to the --add or --replace before it, and there is none"
                    )));
                };
                if name == "--mode" {
                    if op.mode.is_some() {
                        return Err(bad(format!("{} has two --mode values", op.path)));
                    }
                    op.mode = Some(
                        parse_mode(&value).map_err(|r| bad(format!("--mode {value:?}: {r}")))?,
                    );
                } else {
                    if op.owner.is_some() {
                        return Err(bad(format!("{} has two --owner values", op.path)));
                    }
                    op.owner = Some(
                        parse_owner(&value).map_err(|r| bad(format!("--owner {value:?}: {r}")))?,
                    );
                }
            }
            _ => {
                // --from
                if depth >= MAX_FROM_DEPTH {
                    return Err(bad(format!(
                        "--from files nest more than {MAX_FROM_DEPTH} deep"
                    )));
                }
                let file = base.join(&value);
                read_ops_file(&file, depth + 1, counter, ops)?;
                last_op = None;
            }
        }
    }
    Ok(())
}

fn read_ops_file(
    file: &Path,
    depth: usize,
    counter: &mut usize,
    ops: &mut Vec<Op>,
) -> Result<(), OpError> {
    let io = |source| OpError::ReadFile {
        path: file.to_owned(),
        source,
    };
    let meta = std::fs::metadata(file).map_err(io)?;
    if meta.len() > MAX_FROM_SIZE {
        return Err(OpError::Syntax {
            origin: Origin::File {
                path: file.to_owned(),
                line: 0,
            },
            reason: format!("the file is over the {MAX_FROM_SIZE}-byte limit"),
        });
    }
    let text = std::fs::read_to_string(file).map_err(io)?;
    let dir = file.parent().unwrap_or(Path::new("."));
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let tokens = split_line(trimmed).map_err(|reason| OpError::Syntax {
            origin: Origin::File {
                path: file.to_owned(),
                line: line_no,
            },
            reason: reason.to_owned(),
        })?;
        let before = ops.len();
        parse_into(&tokens, dir, Some((file, line_no)), depth, counter, ops)?;
        let added = ops.len() - before;
        let is_from = tokens.first().is_some_and(|t| t.starts_with("--from"));
        if added != 1 && !is_from {
            return Err(OpError::Syntax {
                origin: Origin::File {
                    path: file.to_owned(),
                    line: line_no,
                },
                reason: format!("one operation per line, found {added}"),
            });
        }
    }
    Ok(())
}

/// Splits a line into words: whitespace separates, `'...'` and `"..."` quote (no escapes
/// inside single quotes; `\"` and `\\` inside double quotes).
fn split_line(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err("unterminated ' quote"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\')) => word.push(ch),
                            Some(ch) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => return Err("unterminated \" quote"),
                        },
                        Some(ch) => word.push(ch),
                        None => return Err("unterminated \" quote"),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &[&str]) -> Vec<String> {
        s.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn parses_flags_in_order_with_modifiers() {
        let ops = parse_ops(
            &toks(&[
                "--replace",
                "/etc//hosts=hosts",
                "--add",
                "/usr/bin/./tool=/abs/tool",
                "--mode",
                "0755",
                "--owner=0:10",
                "--delete",
                "/var/cache",
            ]),
            Path::new("/work"),
        )
        .unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].path, "/etc/hosts");
        assert_eq!(
            ops[0].kind,
            OpKind::Replace {
                local: "/work/hosts".into()
            }
        );
        assert_eq!(ops[1].path, "/usr/bin/tool");
        assert_eq!(ops[1].kind.local(), Some(Path::new("/abs/tool")));
        assert_eq!(ops[1].mode, Some(0o755));
        assert_eq!(ops[1].owner, Some(Owner { uid: 0, gid: 10 }));
        assert_eq!(ops[2].kind, OpKind::Delete);
        assert_eq!(ops[2].origin, Origin::Argument(3));
    }

    #[test]
    fn refuses_bad_paths_and_values_by_name() {
        let err = |t: &[&str]| parse_ops(&toks(t), Path::new("/")).unwrap_err().to_string();
        assert!(err(&["--delete", "/a/../../etc"]).contains("escapes the image root"));
        assert!(err(&["--delete", "etc/passwd"]).contains("absolute"));
        assert!(err(&["--delete", "/"]).contains("root"));
        assert!(err(&["--add", "/a"]).contains("/PATH=LOCAL"));
        assert!(err(&["--add", "/a="]).contains("no local file"));
        assert!(err(&["--mode", "644"]).contains("before it"));
        assert!(err(&["--delete", "/a", "--mode", "644"]).contains("before it"));
        assert!(err(&["--add", "/a=b", "--mode", "999"]).contains("octal"));
        assert!(err(&["--add", "/a=b", "--mode", "17777"]).contains("07777"));
        assert!(err(&["--add", "/a=b", "--owner", "root:0"]).contains("numeric"));
        assert!(err(&["--add", "/a=b", "--mode", "644", "--mode", "600"]).contains("two --mode"));
        assert!(err(&["--frobnicate", "x"]).contains("unexpected"));
        assert!(err(&["--delete"]).contains("needs a value"));
    }

    #[test]
    fn reads_operation_files_relative_to_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ops.txt");
        std::fs::write(
            &file,
            "# patch\n\n--replace /etc/motd=motd\n  --add '/opt/my file'=\"new file\" --mode 600 --owner 1:2\n--delete /tmp\n",
        )
        .unwrap();
        let ops = parse_ops(
            &toks(&[
                "--delete",
                "/first",
                "--from",
                file.to_str().unwrap(),
                "--delete",
                "/last",
            ]),
            Path::new("/cwd"),
        )
        .unwrap();
        let paths: Vec<&str> = ops.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/first", "/etc/motd", "/opt/my file", "/tmp", "/last"]
        );
        assert_eq!(ops[1].kind.local(), Some(dir.path().join("motd").as_path()));
        assert_eq!(
            ops[2].kind.local(),
            Some(dir.path().join("new file").as_path())
        );
        assert_eq!(ops[2].mode, Some(0o600));
        assert_eq!(
            ops[2].origin,
            Origin::File {
                path: file.clone(),
                line: 4
            }
        );
        assert_eq!(ops[4].origin, Origin::Argument(5));

        std::fs::write(&file, "--delete /a --delete /b\n").unwrap();
        let err = parse_ops(&toks(&["--from", file.to_str().unwrap()]), Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ops.txt:1") && err.contains("one operation per line"),
            "{err}"
        );
        std::fs::write(&file, "--delete '/a\n").unwrap();
        let err = parse_ops(&toks(&["--from", file.to_str().unwrap()]), Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unterminated"), "{err}");
        // A file naming itself stops at the nesting limit instead of looping.
        std::fs::write(&file, format!("--from {}\n", file.display())).unwrap();
        let err = parse_ops(&toks(&["--from", file.to_str().unwrap()]), Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nest"), "{err}");
        let err = parse_ops(&toks(&["--from", "/nonexistent/ops"]), Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/ops"), "{err}");
    }
}
