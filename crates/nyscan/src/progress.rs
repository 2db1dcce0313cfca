//! Progress bars on stderr for a scan: bytes fetched and files analyzed. Shown only when
//! stderr is a terminal and `--quiet` is not given.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use nyscan_analyze::planner::Progress;
use nyscan_image::FetchStats;

/// How often the fetch bar reads the chunk engine's byte counter during a fetch.
const POLL: Duration = Duration::from_millis(100);

/// The bars of one scan; each is shown from its first update on.
#[derive(Debug)]
pub(crate) struct ScanBars<'a> {
    multi: MultiProgress,
    fetch: ProgressBar,
    fetch_shown: AtomicBool,
    analyze: ProgressBar,
    analyze_shown: AtomicBool,
    stats: &'a FetchStats,
    /// The engine's byte counter when the scan started.
    start_bytes: u64,
}

impl<'a> ScanBars<'a> {
    /// Bars that follow `stats`, or `None` when they are not to be shown.
    pub(crate) fn new(quiet: bool, stats: &'a FetchStats) -> Option<ScanBars<'a>> {
        if quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = |template: &str| {
            ProgressStyle::with_template(template)
                .expect("a valid progress template")
                .progress_chars("=> ")
        };
        let hidden = || ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        let fetch = hidden();
        fetch.set_style(style(
            "{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec}",
        ));
        fetch.set_prefix("fetch");
        let analyze = hidden();
        analyze.set_style(style("{prefix:>8} [{bar:30}] {pos}/{len} files {elapsed}"));
        analyze.set_prefix("analyze");
        Some(ScanBars {
            multi,
            fetch,
            fetch_shown: AtomicBool::new(false),
            analyze,
            analyze_shown: AtomicBool::new(false),
            stats,
            start_bytes: stats.bytes.load(Ordering::Relaxed),
        })
    }

    fn show(&self, bar: &ProgressBar, shown: &AtomicBool) {
        if !shown.swap(true, Ordering::Relaxed) {
            self.multi.add(bar.clone());
        }
    }

    fn fetched_bytes(&self) -> u64 {
        self.stats
            .bytes
            .load(Ordering::Relaxed)
            .saturating_sub(self.start_bytes)
    }

    fn show_fetched(&self) {
        let done = self.fetched_bytes();
        if self.fetch.length().is_some_and(|len| done > len) {
            self.fetch.set_length(done);
        }
        self.fetch.set_position(done);
    }

    /// Runs `scan` with the bars as its progress observer, a thread updating the fetch bar
    /// meanwhile; the bars are cleared when it returns.
    pub(crate) fn run<T>(&self, scan: impl FnOnce(&dyn Progress) -> T) -> T {
        let done = AtomicBool::new(false);
        let result = std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    self.show_fetched();
                    std::thread::sleep(POLL);
                }
            });
            let result = scan(self);
            done.store(true, Ordering::Relaxed);
            result
        });
        self.fetch.finish_and_clear();
        self.analyze.finish_and_clear();
        let _ = self.multi.clear();
        result
    }
}

impl Progress for ScanBars<'_> {
    fn planned(&self, jobs: u64) {
        self.show(&self.analyze, &self.analyze_shown);
        self.analyze.inc_length(jobs);
    }

    fn finished(&self, jobs: u64) {
        self.analyze.inc(jobs);
    }

    fn fetch_started(&self, _chunks: u64, bytes: u64) {
        self.show(&self.fetch, &self.fetch_shown);
        self.fetch.inc_length(bytes);
    }

    fn fetch_finished(&self) {
        self.show_fetched();
    }
}
