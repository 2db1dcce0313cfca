//! `nyscan inspect`: the prompt and the request mode.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;

use anyhow::{Context, Result};
use nyscan_inspect::{Command, Inspector};
use nyscan_oci::{LoadedBootstrap, Source, load_bootstrap};
use nyscan_rafs::Bootstrap;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context as LineContext, Editor, Helper};

use crate::cli::{InspectArgs, SourceArgs};

/// Opens the image a source names: its bootstrap and its blob source.
pub(crate) fn open(args: &SourceArgs) -> Result<LoadedBootstrap> {
    let platform = args.registry.platform()?;
    let source = Source::parse(&args.source, args.blob_dir.as_deref())?;
    load_bootstrap(&source, &platform, &args.registry.client_options())
        .with_context(|| format!("cannot load the bootstrap of {}", args.source))
}

pub(crate) fn run(args: &InspectArgs) -> Result<ExitCode> {
    let bytes = open(&args.source)?.bytes;
    let boot = Bootstrap::parse(&bytes)
        .with_context(|| format!("cannot read the bootstrap of {}", args.source.source))?;
    let mut inspector = Inspector::new(&boot)?;
    if args.requests.is_empty() {
        prompt(&mut inspector, &boot)?;
    } else {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for request in &args.requests {
            let command: Command = request.parse()?;
            if matches!(command, Command::Help | Command::Exit) {
                anyhow::bail!(
                    "`{}` is not a request: it only makes sense at the prompt",
                    command.name()
                );
            }
            let response = inspector
                .execute(&command)
                .with_context(|| format!("request {request:?} failed"))?;
            serde_json::to_writer(&mut out, &response)?;
            writeln!(out)?;
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Completes command names, then entry names of the current directory.
struct InspectHelper {
    names: Rc<RefCell<Vec<(String, bool)>>>,
}

impl Completer for InspectHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &LineContext<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let line = &line[..pos];
        let Some((command, arg)) = line.split_once(' ') else {
            let pairs = Command::NAMES
                .iter()
                .filter(|n| n.starts_with(line))
                .map(|n| Pair {
                    display: (*n).to_owned(),
                    replacement: format!("{n} "),
                })
                .collect();
            return Ok((0, pairs));
        };
        let dirs_only = command == "cd";
        if !matches!(command, "cd" | "stat") {
            return Ok((pos, Vec::new()));
        }
        let start = line.len() - arg.len();
        let pairs = self
            .names
            .borrow()
            .iter()
            .filter(|(name, is_dir)| name.starts_with(arg) && (*is_dir || !dirs_only))
            .map(|(name, is_dir)| Pair {
                display: name.clone(),
                replacement: if *is_dir && dirs_only {
                    format!("{name}/")
                } else {
                    name.clone()
                },
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for InspectHelper {
    type Hint = String;
}
impl Highlighter for InspectHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}
impl Validator for InspectHelper {}
impl Helper for InspectHelper {}

fn prompt(inspector: &mut Inspector<'_>, boot: &Bootstrap<'_>) -> Result<()> {
    let names = Rc::new(RefCell::new(inspector.names_in_cwd().unwrap_or_default()));
    let mut editor: Editor<InspectHelper, rustyline::history::DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(InspectHelper {
        names: names.clone(),
    }));
    println!(
        "{} bootstrap, {} inodes, {} blobs. Type `help` for commands, `q` to leave.",
        boot.version(),
        boot.superblock().inodes_count,
        boot.blobs().len()
    );
    loop {
        let line = match editor.readline(&format!("nyscan:{}> ", inspector.cwd())) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if line.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line.as_str());
        let command: Command = match line.parse() {
            Ok(c) => c,
            Err(e) => {
                eprint!("{}", crate::errors::render(&anyhow::Error::new(e)));
                continue;
            }
        };
        if command == Command::Exit {
            break;
        }
        match inspector.execute(&command) {
            Ok(response) => {
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                response.write_text(&mut out)?;
                out.flush()?;
            }
            Err(e) => eprint!("{}", crate::errors::render(&anyhow::Error::new(e))),
        }
        if let Ok(n) = inspector.names_in_cwd() {
            *names.borrow_mut() = n;
        }
    }
    Ok(())
}
