//! A human-readable table: the OS, then one row per package (type, name, version, where),
//! then the files that could not be analyzed.

use comfy_table::{Table, presets::ASCII_MARKDOWN};

use crate::trivy::pkg_type;
use crate::{Document, Error};

/// Writes `doc` as text tables.
pub fn write(doc: &Document<'_>, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let inventory = doc.inventory;
    let os = inventory.os.as_ref();
    match os {
        Some(os) => writeln!(out, "{} ({} {})", doc.artifact, os.family, os.name)?,
        None => writeln!(out, "{} (no OS detected)", doc.artifact)?,
    }
    writeln!(out, "packages: {}", inventory.packages.len())?;
    if !inventory.packages.is_empty() {
        let mut table = Table::new();
        table.load_style(ASCII_MARKDOWN);
        table.set_header(["Type", "Name", "Version", "Location"]);
        for pkg in &inventory.packages {
            table.add_row([
                pkg_type(pkg, os),
                &pkg.name,
                &pkg.version,
                &pkg.locations.join("\n"),
            ]);
        }
        writeln!(out, "\n{table}")?;
    }
    if !inventory.notes.is_empty() {
        let mut table = Table::new();
        table.load_style(ASCII_MARKDOWN);
        table.set_header(["Not analyzed", "Analyzer", "Why"]);
        for note in &inventory.notes {
            table.add_row([&note.path, &note.analyzer, &note.message]);
        }
        writeln!(out, "\n{table}")?;
    }
    Ok(())
}
