//! What a scan reports while it runs, for a progress display.

/// Receives what a scan is doing. Called from the scanning thread only, between fetches and
/// analyzer runs (never during a fetch: a display that shows bytes arriving polls the chunk
/// engine's [`FetchStats`](nyscan_image::FetchStats) meanwhile). Every method does nothing by
/// default.
pub trait Progress: Sync + std::fmt::Debug {
    /// `jobs` more (path, analyzer) pairs are to be analyzed: a phase starts (the total grows
    /// once the OS phase has decided which paths the packages phase skips).
    fn planned(&self, jobs: u64) {
        let _ = jobs;
    }

    /// `jobs` pairs ended (with findings, a note, or an answer from the scan cache).
    fn finished(&self, jobs: u64) {
        let _ = jobs;
    }

    /// A fetch starts: `chunks` chunks, about `bytes` stored bytes (before the local chunk
    /// cache answers some of them).
    fn fetch_started(&self, chunks: u64, bytes: u64) {
        let _ = (chunks, bytes);
    }

    /// The fetch started last ended.
    fn fetch_finished(&self) {}
}
