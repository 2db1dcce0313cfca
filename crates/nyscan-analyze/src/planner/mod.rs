//! The planner: decide from the bootstrap alone which files matter, fetch only the bytes
//! each analyzer asks for, in a few batched rounds, and gather what the analyzers found.
//!
//! 1. **Select.** The bootstrap is walked once; every regular file path (each path of a
//!    hardlinked file) is offered to every analyzer's `select`, which looks at the path, size
//!    and mode only.
//! 2. **OS phase.** Release files and OS package databases ([`Phase::Os`]) are read first.
//!    The files OS packages own become [`Context::owned_files`].
//! 3. **Package phase.** Other analyzers run on the paths OS packages do not own, as Trivy
//!    filters them (language packages installed by the distribution are the distribution's).
//! 4. **Rounds.** In each round the wanted byte ranges of every active file are mapped to the
//!    chunks that hold them, all chunks of the round are fetched with one call to the chunk
//!    engine (which merges neighbours into range requests and runs them in parallel), the
//!    bytes are added to each file's [`FileView`](crate::bytes::FileView) and the analyzers
//!    run (in parallel). An analyzer that needs more returns [`Need`](crate::bytes::Need);
//!    its ranges make the next round. A chunk is fetched at most once per scan: fetched
//!    chunks are kept while a file still waiting for bytes holds them.
//! 5. **Bounds.** Each file gets at most [`Limits::max_runs`] runs and
//!    [`Limits::max_file_bytes`] of content; a round fetches about
//!    [`Limits::max_round_bytes`] at most (further files wait for the next round). A file
//!    that fails (damaged, over a bound, bytes that cannot be fetched or do not verify)
//!    becomes a [`Note`] and the scan goes on.
//!
//! 6. **Scan cache.** With a [`ScanCache`] in the [`Options`], each phase first looks up
//!    its pairs by (analyzer name and version, path, the file's
//!    [`ContentId`](crate::cache::ContentId): size and chunk
//!    digests from the bootstrap), and the bounds and, for the packages phase, the detected
//!    OS. An answered pair is done without a byte fetched; every pair that ends with findings
//!    or an `Invalid`/`Limit` note is stored (failed fetches are not). OS-phase results are
//!    cached per file like any other, and ownership is computed again from them on every
//!    scan, so the packages phase always skips exactly what this image's OS packages own.
//!    Analyzers read only their own file; ownership decides which paths run, never what an
//!    analyzer makes of a file (an analyzer that used [`Context::owned_files`] for that would
//!    need it in the key).
//!
//! A secret scanner is one more analyzer that selects files by size and path.

mod cached;
mod inventory;
mod progress;
mod select;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nyscan_image::{ChunkKey, ChunkReader};
use nyscan_rafs::Chunk;

use crate::analyzer::{AnalyzeError, Analyzer, Context, Findings, Phase};
use crate::cache::{Outcome, ScanCache};
use crate::os::purl::os_package_purl;
use crate::os::release::merge_os;
use crate::package::OsInfo;

pub use inventory::{Inventory, Note, NoteKind, ScanStats};
pub use progress::Progress;

use select::{Selection, chunks_for};

/// Paths Trivy treats as owned by the OS even where no ownership list names them (Python
/// 2.7 egg-info files that distroless images keep without dpkg file lists).
const DEFAULT_OWNED: &[&str] = &[
    "usr/lib/python2.7/argparse.egg-info",
    "usr/lib/python2.7/lib-dynload/Python-2.7.egg-info",
    "usr/lib/python2.7/wsgiref.egg-info",
];

/// Bounds of one scan.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Runs of one analyzer on one file (the depth of its format's pointer chain).
    pub max_runs: u32,
    /// Content bytes of one file made known to its analyzers (fetched plus holes).
    pub max_file_bytes: u64,
    /// Content bytes fetched in one round; files beyond it wait for the next round (a single
    /// file larger than this still gets its own round).
    pub max_round_bytes: u64,
    /// Threads running analyzers.
    pub threads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_runs: 8,
            max_file_bytes: 256 << 20,
            max_round_bytes: 1 << 30,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get().min(8)),
        }
    }
}

/// How a scan runs, besides its analyzers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Bounds.
    pub limits: Limits,
    /// Results kept from earlier scans, read and written.
    pub cache: Option<&'a ScanCache>,
    /// Told what the scan is doing.
    pub progress: Option<&'a dyn Progress>,
}

/// Why a scan could not run at all (a damaged file only makes a [`Note`]).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The bootstrap's tree cannot be walked.
    #[error("cannot walk the image's file tree")]
    Walk(#[source] nyscan_rafs::Error),
}

/// The result of a scan.
#[derive(Debug, Clone)]
pub struct Scan {
    /// What was found.
    pub inventory: Inventory,
    /// What it cost.
    pub stats: ScanStats,
}

/// Scans the image `reader` reads with `analyzers` (usually [`crate::all::analyzers`]),
/// without a scan cache or progress.
pub fn scan(
    reader: &ChunkReader<'_, '_>,
    analyzers: &[Box<dyn Analyzer>],
    limits: &Limits,
) -> Result<Scan, ScanError> {
    let options = Options {
        limits: *limits,
        ..Options::default()
    };
    scan_with(reader, analyzers, &options)
}

/// Scans the image `reader` reads with `analyzers`, with the scan cache and progress observer
/// of `options`.
pub fn scan_with(
    reader: &ChunkReader<'_, '_>,
    analyzers: &[Box<dyn Analyzer>],
    options: &Options<'_>,
) -> Result<Scan, ScanError> {
    let limits = &options.limits;
    let boot = reader.bootstrap();
    let before = reader.stats().snapshot();
    let hits_before = reader.stats().cache_hits();
    let selection = select::select(boot, analyzers).map_err(ScanError::Walk)?;
    let mut run = Run {
        reader,
        analyzers,
        limits,
        selection,
        store: HashMap::new(),
        findings: Vec::new(),
        notes: Vec::new(),
        rounds: 0,
        file_bytes: 0,
        cache: cached::CacheState::new(options.cache, boot.superblock().digester),
        progress: options.progress,
    };

    run.phase(Phase::Os, &Context::default());
    let mut os_found: Vec<(String, OsInfo)> = Vec::new();
    let mut owned: HashSet<String> = DEFAULT_OWNED.iter().map(|s| (*s).to_owned()).collect();
    let mut package_files = Vec::new();
    let mut third_party = HashSet::new();
    for (job, findings) in &mut run.findings {
        let path = &run.selection.jobs[*job].path;
        if let Some(os) = findings.os.take() {
            os_found.push((path.clone(), os));
        }
        owned.extend(findings.owned_files.drain(..));
        package_files.append(&mut findings.package_files);
        third_party.extend(findings.third_party.drain(..));
    }
    // A package's list counts when that package is installed (by name, or `name:arch`) and
    // not from a third-party repository, as Trivy maps lists to packages.
    let installed: HashSet<String> = run
        .findings
        .iter()
        .flat_map(|(_, f)| &f.packages)
        .filter(|p| p.kind.is_os() && !third_party.contains(&p.name))
        .flat_map(|p| {
            let with_arch = p.arch.as_ref().map(|arch| format!("{}:{arch}", p.name));
            std::iter::once(p.name.clone()).chain(with_arch)
        })
        .collect();
    for (owner, files) in package_files {
        if installed.contains(&owner) {
            owned.extend(files);
        }
    }
    // Ownership lists name paths as packages install them; the image may reach them through
    // linked directories (merged /usr: `bin/bash` lives at `usr/bin/bash`).
    let through_links: Vec<String> = owned
        .iter()
        .filter_map(|p| select::resolve_dir_links(p, &run.selection.symlinks))
        .collect();
    owned.extend(through_links);
    os_found.sort_by(|a, b| a.0.cmp(&b.0));
    let os = merge_os(&os_found.into_iter().map(|(_, o)| o).collect::<Vec<_>>());
    let context = Context {
        os: os.clone(),
        owned_files: owned,
    };

    let mut skipped = 0;
    for job in &mut run.selection.jobs {
        if !job.done && job.phase != Phase::Os && context.owned_files.contains(&job.path) {
            job.done = true;
            skipped += 1;
        }
    }
    run.release_unneeded();
    run.phase(Phase::Packages, &context);

    let mut packages = Vec::new();
    let mut secrets = Vec::new();
    for (j, findings) in run.findings.drain(..) {
        packages.extend(findings.packages);
        secrets.extend(findings.secrets);
        if let Some(message) = findings.partial {
            let job = &run.selection.jobs[j];
            run.notes.push(Note {
                path: job.path.clone(),
                analyzer: run.analyzers[job.analyzer].name().to_owned(),
                kind: NoteKind::Limit,
                message,
            });
        }
    }
    secrets.sort();
    secrets.dedup();
    // Packages whose every location an OS package owns are the distribution's (Trivy filters
    // them by file path too).
    packages.retain(|p| {
        p.kind.is_os()
            || p.locations.is_empty()
            || !p.locations.iter().all(|l| context.owned_files.contains(l))
    });
    for p in &mut packages {
        if let Some(purl) = os_package_purl(p, os.as_ref()) {
            p.purl = purl;
        }
    }
    if let Some(os) = &os {
        crate::rpm::apply_os(&mut packages, os);
    }
    run.notes.sort();

    let after = reader.stats().snapshot();
    let selection = &run.selection;
    let stats = ScanStats {
        files: selection.paths,
        selected: selection.jobs.len() as u64,
        skipped_owned: skipped,
        analyzed: selection.jobs.len() as u64 - skipped,
        rounds: run.rounds,
        file_bytes: run.file_bytes,
        requests: after.0 - before.0,
        fetched_bytes: after.1 - before.1,
        chunks: after.2 - before.2,
        cache_hits: reader.stats().cache_hits() - hits_before,
        cached: run.cache.answered,
        blob_bytes: boot.blobs().iter().map(|b| b.compressed_size).sum(),
    };
    Ok(Scan {
        inventory: Inventory {
            os,
            packages: inventory::merge_packages(packages),
            secrets,
            notes: run.notes,
        },
        stats,
    })
}

/// The state of one scan.
struct Run<'s, 'r, 'd> {
    reader: &'s ChunkReader<'r, 'd>,
    analyzers: &'s [Box<dyn Analyzer>],
    limits: &'s Limits,
    selection: Selection,
    /// Fetched chunks still held by a file waiting for bytes.
    store: HashMap<ChunkKey, Arc<[u8]>>,
    /// Results by job.
    findings: Vec<(usize, Findings)>,
    notes: Vec<Note>,
    rounds: u32,
    file_bytes: u64,
    cache: cached::CacheState<'s>,
    progress: Option<&'s dyn Progress>,
}

/// What one job needs in a round.
struct Planned {
    job: usize,
    chunks: Vec<Chunk>,
}

impl Run<'_, '_, '_> {
    fn note(&mut self, job: usize, kind: NoteKind, message: String) {
        match kind {
            NoteKind::Invalid => self.remember(job, Outcome::Invalid(message.clone())),
            NoteKind::Limit => self.remember(job, Outcome::Limit(message.clone())),
            // A fetch may work next time.
            NoteKind::Fetch => {}
        }
        self.finished(1);
        let j = &mut self.selection.jobs[job];
        j.done = true;
        self.notes.push(Note {
            path: j.path.clone(),
            analyzer: self.analyzers[j.analyzer].name().to_owned(),
            kind,
            message,
        });
    }

    fn finished(&self, jobs: u64) {
        if let Some(p) = self.progress {
            p.finished(jobs);
        }
    }

    /// Runs every job of `phase` to its end: answers from the scan cache first, then rounds
    /// of fetches and analyzer runs; what ended is written to the scan cache.
    fn phase(&mut self, phase: Phase, context: &Context) {
        let mut active: Vec<usize> = (0..self.selection.jobs.len())
            .filter(|&j| {
                let job = &self.selection.jobs[j];
                job.phase == phase && !job.done
            })
            .collect();
        if let Some(p) = self.progress {
            p.planned(active.len() as u64);
        }
        self.cache.enter_phase(phase, self.limits, context);
        let answered = self.cache.lookup(
            &self.selection,
            self.analyzers,
            &active,
            self.limits.threads,
        );
        for (j, outcome) in answered {
            self.apply_cached(j, outcome);
        }
        active.retain(|&j| !self.selection.jobs[j].done);
        while !active.is_empty() {
            let (planned, deferred) = self.plan_round(&active);
            if !planned.is_empty() {
                self.fetch_round(&planned);
            }
            let ready: Vec<usize> = planned
                .iter()
                .map(|p| p.job)
                .filter(|&j| !self.selection.jobs[j].done)
                .collect();
            let mut next = self.analyze(&ready, context);
            next.extend(deferred);
            self.release_unneeded();
            active = next;
        }
        self.cache.flush(self.limits.threads);
    }

    /// Ends job `j` with an outcome the scan cache kept.
    fn apply_cached(&mut self, j: usize, outcome: Outcome) {
        let job = &mut self.selection.jobs[j];
        job.done = true;
        let analyzer = self.analyzers[job.analyzer].name().to_owned();
        let (kind, message) = match outcome {
            Outcome::Found(findings) => {
                self.findings.push((j, findings));
                self.finished(1);
                return;
            }
            Outcome::Invalid(m) => (NoteKind::Invalid, m),
            Outcome::Limit(m) => (NoteKind::Limit, m),
        };
        self.notes.push(Note {
            path: job.path.clone(),
            analyzer,
            kind,
            message,
        });
        self.finished(1);
    }

    /// Keeps how job `j` ended for the scan cache.
    fn remember(&mut self, j: usize, outcome: Outcome) {
        let job = &self.selection.jobs[j];
        self.cache.remember(
            &self.selection,
            job,
            &*self.analyzers[job.analyzer],
            outcome,
        );
    }

    /// Picks the jobs of this round and the chunks they need; the rest wait.
    fn plan_round(&mut self, active: &[usize]) -> (Vec<Planned>, Vec<usize>) {
        let mut planned = Vec::new();
        let mut deferred = Vec::new();
        let mut round_bytes = 0u64;
        let mut file_new: HashMap<usize, u64> = HashMap::new();
        for &j in active {
            let job = &self.selection.jobs[j];
            let file = &self.selection.files[job.file];
            let chunks = match &file.chunks {
                Ok(c) => c,
                Err(e) => {
                    let e = e.clone();
                    self.note(j, NoteKind::Invalid, e);
                    continue;
                }
            };
            let missing: Vec<Range<u64>> = job
                .want
                .iter()
                .flat_map(|r| file.view.missing(r.clone()))
                .collect();
            let (needed, holes) = chunks_for(chunks, &missing);
            let new_bytes: u64 = needed
                .iter()
                .map(|c| u64::from(c.uncompressed_size))
                .chain(holes.iter().map(|h| h.end - h.start))
                .sum();
            let file_total =
                file.view.known_bytes() + file_new.get(&job.file).copied().unwrap_or(0) + new_bytes;
            if file_total > self.limits.max_file_bytes {
                let message = format!(
                    "needs {file_total} bytes of the file, more than the limit of {}",
                    self.limits.max_file_bytes
                );
                self.note(j, NoteKind::Limit, message);
                continue;
            }
            if !planned.is_empty() && round_bytes + new_bytes > self.limits.max_round_bytes {
                deferred.push(j);
                continue;
            }
            round_bytes += new_bytes;
            *file_new.entry(job.file).or_default() += new_bytes;
            let file = &mut self.selection.files[job.file];
            for hole in holes {
                let zeros = vec![0u8; (hole.end - hole.start) as usize];
                file.view.insert(hole.start, &zeros);
                self.file_bytes += zeros.len() as u64;
            }
            planned.push(Planned {
                job: j,
                chunks: needed,
            });
        }
        (planned, deferred)
    }

    /// Fetches every chunk the round needs with one call to the chunk engine; chunks fetched
    /// earlier come from the store. A failure is pinned on the files that need the chunk or
    /// blob it names, those get notes, and the rest is fetched again.
    fn fetch_round(&mut self, planned: &[Planned]) {
        let mut alive: Vec<&Planned> = planned.iter().collect();
        loop {
            let mut seen = HashSet::new();
            let wanted: Vec<Chunk> = alive
                .iter()
                .flat_map(|p| p.chunks.iter())
                .filter(|c| !self.store.contains_key(&(c.blob_index, c.index)))
                .filter(|c| seen.insert((c.blob_index, c.index)))
                .copied()
                .collect();
            if wanted.is_empty() {
                break;
            }
            self.rounds += 1;
            if let Some(p) = self.progress {
                let bytes = wanted.iter().map(|c| u64::from(c.compressed_size)).sum();
                p.fetch_started(wanted.len() as u64, bytes);
            }
            let fetched = self.reader.fetch(&wanted);
            if let Some(p) = self.progress {
                p.fetch_finished();
            }
            match fetched {
                Ok(fetched) => {
                    self.store.extend(fetched);
                    break;
                }
                Err(error) => {
                    let culprit = self.culprit(&error);
                    let message = error_chain(&error);
                    let (failed, kept): (Vec<&Planned>, Vec<&Planned>) =
                        alive.into_iter().partition(|p| match culprit {
                            Culprit::Chunk(key) => {
                                p.chunks.iter().any(|c| (c.blob_index, c.index) == key)
                            }
                            Culprit::Blob(blob) => p.chunks.iter().any(|c| c.blob_index == blob),
                            Culprit::Unknown => true,
                        });
                    for p in failed {
                        self.note(p.job, NoteKind::Fetch, message.clone());
                    }
                    alive = kept;
                }
            }
        }
        for p in alive {
            let file = self.selection.jobs[p.job].file;
            for c in &p.chunks {
                if let Some(bytes) = self.store.get(&(c.blob_index, c.index)) {
                    let view = &mut self.selection.files[file].view;
                    let before = view.known_bytes();
                    view.insert(c.file_offset, bytes);
                    self.file_bytes += view.known_bytes() - before;
                }
            }
        }
    }

    fn culprit(&self, error: &nyscan_image::Error) -> Culprit {
        let blob_index = |id: &str| {
            self.reader
                .bootstrap()
                .blobs()
                .iter()
                .position(|b| b.id == id)
                .map(|i| i as u32)
        };
        match error {
            nyscan_image::Error::Chunk { blob_id, chunk, .. }
            | nyscan_image::Error::Unlocatable { blob_id, chunk, .. } => {
                blob_index(blob_id).map_or(Culprit::Unknown, |b| Culprit::Chunk((b, *chunk)))
            }
            nyscan_image::Error::Fetch { blob_id, .. } => {
                blob_index(blob_id).map_or(Culprit::Unknown, Culprit::Blob)
            }
            _ => Culprit::Unknown,
        }
    }

    /// Runs the analyzers of `ready` in parallel; returns the jobs that need another round.
    fn analyze(&mut self, ready: &[usize], context: &Context) -> Vec<usize> {
        let next_index = AtomicUsize::new(0);
        let threads = self.limits.threads.clamp(1, ready.len().max(1));
        let jobs = &self.selection.jobs;
        let files = &self.selection.files;
        let analyzers = self.analyzers;
        let mut outcomes: Vec<(usize, Result<Findings, AnalyzeError>)> =
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut out = Vec::new();
                            loop {
                                let i = next_index.fetch_add(1, Ordering::Relaxed);
                                let Some(&j) = ready.get(i) else {
                                    return out;
                                };
                                let job = &jobs[j];
                                let analyzer = &analyzers[job.analyzer];
                                let view = &files[job.file].view;
                                out.push((j, analyzer.analyze(&job.path, view, context)));
                            }
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().unwrap_or_default())
                    .collect()
            });
        outcomes.sort_by_key(|(j, _)| *j);
        let mut next = Vec::new();
        for (j, outcome) in outcomes {
            self.selection.jobs[j].runs += 1;
            match outcome {
                Ok(findings) => {
                    if self.cache.is_enabled() {
                        self.remember(j, Outcome::Found(findings.clone()));
                    }
                    self.finished(1);
                    self.selection.jobs[j].done = true;
                    self.findings.push((j, findings));
                }
                Err(AnalyzeError::Need(need)) => {
                    let job = &self.selection.jobs[j];
                    let view = &self.selection.files[job.file].view;
                    let missing: Vec<Range<u64>> = need
                        .ranges
                        .iter()
                        .flat_map(|r| view.missing(r.clone()))
                        .collect();
                    if missing.is_empty() {
                        self.note(
                            j,
                            NoteKind::Invalid,
                            "the analyzer asked for bytes it already has".into(),
                        );
                    } else if job.runs >= self.limits.max_runs {
                        let message = format!(
                            "still needs bytes after {} runs (the limit)",
                            self.limits.max_runs
                        );
                        self.note(j, NoteKind::Limit, message);
                    } else {
                        self.selection.jobs[j].want = missing;
                        next.push(j);
                    }
                }
                Err(AnalyzeError::Invalid(message)) => self.note(j, NoteKind::Invalid, message),
                Err(AnalyzeError::Limit(message)) => self.note(j, NoteKind::Limit, message),
            }
        }
        next
    }

    /// Drops fetched chunks and file bytes no pending job can use any more.
    fn release_unneeded(&mut self) {
        let mut pending_files = HashSet::new();
        for job in self.selection.jobs.iter().filter(|j| !j.done) {
            pending_files.insert(job.file);
        }
        let mut keep: HashSet<ChunkKey> = HashSet::new();
        for &f in &pending_files {
            if let Ok(chunks) = &self.selection.files[f].chunks {
                keep.extend(chunks.iter().map(|c| (c.blob_index, c.index)));
            }
        }
        self.store.retain(|key, _| keep.contains(key));
        for (f, file) in self.selection.files.iter_mut().enumerate() {
            if !pending_files.contains(&f) && file.view.known_bytes() > 0 {
                file.view = crate::bytes::FileView::new(file.size);
            }
        }
    }
}

/// Which files a fetch error concerns.
#[derive(Debug, Clone, Copy)]
enum Culprit {
    Chunk(ChunkKey),
    Blob(u32),
    Unknown,
}

/// An error and its causes, joined with `: `.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
