//! The planner's side of the scan cache: keys for jobs, answers before a phase runs, and the
//! outcomes of a phase written when it ends.

use std::collections::HashMap;
use std::sync::Mutex;

use nyscan_rafs::Digester;

use super::Limits;
use super::select::{Job, Selection};
use crate::analyzer::{Analyzer, Context, Phase};
use crate::cache::{ContentId, EntryKey, KeyParts, Outcome, ScanCache};

/// The scan cache as one scan uses it.
#[derive(Debug)]
pub(crate) struct CacheState<'s> {
    cache: Option<&'s ScanCache>,
    digester: Digester,
    /// What results of the current phase depend on besides analyzer and file.
    scope: Vec<u8>,
    /// Content identities by file index (`None`: the chunk list cannot be read).
    content: HashMap<usize, Option<ContentId>>,
    /// Outcomes to write when the phase ends.
    pending: Vec<(EntryKey, Outcome)>,
    /// Jobs answered by the cache.
    pub(crate) answered: u64,
}

impl<'s> CacheState<'s> {
    pub(crate) fn new(cache: Option<&'s ScanCache>, digester: Digester) -> Self {
        CacheState {
            cache,
            digester,
            scope: Vec::new(),
            content: HashMap::new(),
            pending: Vec::new(),
            answered: 0,
        }
    }

    /// True when there is a cache to read and write.
    pub(crate) fn is_enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// Sets the scope of the phase's keys: the bounds that can end a job, and for the packages
    /// phase the OS the earlier phase found.
    pub(crate) fn enter_phase(&mut self, phase: Phase, limits: &Limits, context: &Context) {
        let mut scope = Vec::new();
        scope.extend_from_slice(&limits.max_runs.to_le_bytes());
        scope.extend_from_slice(&limits.max_file_bytes.to_le_bytes());
        if phase != Phase::Os {
            scope.push(1);
            if let Some(os) = &context.os {
                for part in [&os.family, &os.name] {
                    scope.extend_from_slice(&(part.len() as u64).to_le_bytes());
                    scope.extend_from_slice(part.as_bytes());
                }
            }
        }
        self.scope = scope;
    }

    fn key(
        &mut self,
        selection: &Selection,
        job: &Job,
        analyzer: &dyn Analyzer,
    ) -> Option<EntryKey> {
        let digester = self.digester;
        let content = *self.content.entry(job.file).or_insert_with(|| {
            let file = &selection.files[job.file];
            let chunks = file.chunks.as_ref().ok()?;
            Some(ContentId::new(file.size, digester, chunks))
        });
        Some(EntryKey::new(&KeyParts {
            analyzer: analyzer.name(),
            version: analyzer.version(),
            path: &job.path,
            content: content.as_ref()?,
            scope: &self.scope,
        }))
    }

    /// The cached outcomes of `active` jobs, looked up on `threads` threads.
    pub(crate) fn lookup(
        &mut self,
        selection: &Selection,
        analyzers: &[Box<dyn Analyzer>],
        active: &[usize],
        threads: usize,
    ) -> Vec<(usize, Outcome)> {
        let Some(cache) = self.cache else {
            return Vec::new();
        };
        let keyed: Vec<(usize, EntryKey)> = active
            .iter()
            .filter_map(|&j| {
                let job = &selection.jobs[j];
                Some((j, self.key(selection, job, &*analyzers[job.analyzer])?))
            })
            .collect();
        let found = Mutex::new(Vec::new());
        let per_thread = keyed.len().div_ceil(threads.max(1)).max(1);
        std::thread::scope(|scope| {
            for part in keyed.chunks(per_thread) {
                let found = &found;
                scope.spawn(move || {
                    let hits: Vec<(usize, Outcome)> = part
                        .iter()
                        .filter_map(|(j, key)| Some((*j, cache.get(key)?)))
                        .collect();
                    found.lock().unwrap_or_else(|e| e.into_inner()).extend(hits);
                });
            }
        });
        let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
        found.sort_by_key(|(j, _)| *j);
        self.answered += found.len() as u64;
        found
    }

    /// Keeps how `job` ended, to be written when the phase ends.
    pub(crate) fn remember(
        &mut self,
        selection: &Selection,
        job: &Job,
        analyzer: &dyn Analyzer,
        outcome: Outcome,
    ) {
        if self.cache.is_none() {
            return;
        }
        if let Some(key) = self.key(selection, job, analyzer) {
            self.pending.push((key, outcome));
        }
    }

    /// Writes the outcomes kept so far on `threads` threads. A failed write only costs a
    /// miss later.
    pub(crate) fn flush(&mut self, threads: usize) {
        let Some(cache) = self.cache else {
            return;
        };
        let pending = std::mem::take(&mut self.pending);
        let per_thread = pending.len().div_ceil(threads.max(1)).max(1);
        std::thread::scope(|scope| {
            for part in pending.chunks(per_thread) {
                scope.spawn(move || {
                    for (key, outcome) in part {
                        let _ = cache.put(key, outcome);
                    }
                });
            }
        });
    }
}
