//! nyscan's own JSON: the inventory as the analyzers report it (full versions, all
//! locations, notes), with the artifact name and, when asked, the scan's statistics.

use nyscan_analyze::package::{OsInfo, Package};
use nyscan_analyze::planner::{Note, ScanStats};
use serde::Serialize;

use crate::{Document, Error, time};

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    artifact: &'a str,
    created: String,
    tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<&'a OsInfo>,
    packages: &'a [Package],
    notes: &'a [Note],
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<&'a ScanStats>,
}

/// Writes `doc` as nyscan's JSON report.
pub fn write(doc: &Document<'_>, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let report = Report {
        schema_version: 1,
        artifact: doc.artifact,
        created: time::rfc3339(doc.created_unix),
        tool: format!("nyscan {}", doc.tool_version),
        os: doc.inventory.os.as_ref(),
        packages: &doc.inventory.packages,
        notes: &doc.inventory.notes,
        stats: doc.stats,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)?;
    Ok(())
}
