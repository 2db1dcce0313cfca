//! The text report of a scan, one section per target as Trivy prints it: a header with the
//! target and its type, the totals by severity, then a table of vulnerabilities (library,
//! id, severity, status, installed and fixed versions, title), secrets (rule, line, masked
//! match) or failed checks. Without a vulnerability database, package targets list their
//! packages instead. Files that could not be analyzed close the report.

use comfy_table::{Table, presets::ASCII_MARKDOWN};
use nyscan_vuln::Severity;

use crate::Error;
use crate::findings::{SEVERITIES, ScanReport, severity_of_secret};
use crate::results::{Class, Target, targets};
use crate::trivy_json::check_message;

/// Longest title shown in a vulnerability row (characters).
const MAX_TITLE: usize = 60;

fn totals(severities: impl Iterator<Item = Severity>) -> String {
    let mut counts = [0usize; 5];
    let mut total = 0;
    for s in severities {
        if let Some(i) = SEVERITIES.iter().position(|x| *x == s) {
            counts[i] += 1;
        }
        total += 1;
    }
    let parts: Vec<String> = SEVERITIES
        .iter()
        .zip(counts)
        .map(|(s, n)| format!("{}: {n}", s.as_str()))
        .collect();
    format!("Total: {total} ({})", parts.join(", "))
}

fn header(out: &mut dyn std::io::Write, title: &str) -> std::io::Result<()> {
    writeln!(out, "\n{title}")?;
    writeln!(out, "{}", "=".repeat(title.chars().count()))
}

fn short(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= max {
        line.to_owned()
    } else {
        let mut s: String = line.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn new_table(columns: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(ASCII_MARKDOWN);
    table.set_header(columns.to_vec());
    table
}

fn package_section(
    report: &ScanReport<'_>,
    t: &Target<'_>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let title = match t.class {
        Class::OsPkgs => t.name.clone(),
        _ => format!("{} ({})", t.name, t.kind),
    };
    header(out, &title)?;
    if !report.vulnerabilities_checked {
        writeln!(
            out,
            "Packages: {} (vulnerabilities not checked)",
            t.packages.len()
        )?;
        if !t.packages.is_empty() {
            let mut table = new_table(&["Name", "Version", "Location"]);
            for p in &t.packages {
                table.add_row([p.name.as_str(), p.version.as_str(), &p.locations.join("\n")]);
            }
            writeln!(out, "\n{table}")?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        totals(t.vulnerabilities.iter().map(|(v, _)| v.severity))
    )?;
    if t.vulnerabilities.is_empty() {
        return Ok(());
    }
    let mut table = new_table(&[
        "Library",
        "Vulnerability",
        "Severity",
        "Status",
        "Installed Version",
        "Fixed Version",
        "Title",
    ]);
    for (v, _) in &t.vulnerabilities {
        let status = match v.status {
            nyscan_vuln::Status::Fixed => "fixed",
            nyscan_vuln::Status::Affected => "affected",
        };
        let title = v
            .title
            .as_deref()
            .or(v.description.as_deref())
            .unwrap_or("");
        table.add_row([
            v.package.name.as_str(),
            v.id.as_str(),
            v.severity.as_str(),
            status,
            v.package.version.as_str(),
            v.fixed_version.as_deref().unwrap_or(""),
            &format!("{}\n{}", short(title, MAX_TITLE), v.data_source.url),
        ]);
    }
    writeln!(out, "\n{table}")
}

fn secret_section(t: &Target<'_>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    header(out, &format!("{} (secrets)", t.name))?;
    writeln!(
        out,
        "{}",
        totals(t.secrets.iter().map(|s| severity_of_secret(s.severity)))
    )?;
    let mut table = new_table(&["Severity", "Rule", "Title", "Line", "Match"]);
    for s in &t.secrets {
        let location = match s.path.split_once('#') {
            Some((_, pointer)) => pointer.to_owned(),
            None => s.start_line.to_string(),
        };
        table.add_row([
            s.severity.as_str(),
            s.rule_id.as_str(),
            s.title.as_str(),
            &location,
            &s.context,
        ]);
    }
    writeln!(out, "\n{table}")
}

fn config_section(t: &Target<'_>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    header(
        out,
        &format!("{} ({}, from the image config)", t.name, t.kind),
    )?;
    writeln!(
        out,
        "Tests: {} (SUCCESSES: {}, FAILURES: {})",
        t.passed_checks + t.misconfigurations.len(),
        t.passed_checks,
        t.misconfigurations.len()
    )?;
    writeln!(
        out,
        "{}",
        totals(
            t.misconfigurations
                .iter()
                .map(|m| severity_of_secret(m.severity))
        )
        .replacen("Total", "Failures", 1)
    )?;
    if t.misconfigurations.is_empty() {
        return Ok(());
    }
    let mut table = new_table(&["ID", "Severity", "Title", "Message", "Resolution"]);
    for m in &t.misconfigurations {
        table.add_row([
            m.id,
            m.severity.as_str(),
            m.title,
            &check_message(m),
            m.resolution,
        ]);
    }
    writeln!(out, "\n{table}")
}

/// Writes `report` as text.
pub fn write(report: &ScanReport<'_>, out: &mut dyn std::io::Write) -> Result<(), Error> {
    let targets = targets(report);
    let found = report.findings;
    writeln!(
        out,
        "{}: {} packages, {} vulnerabilities, {} secrets, {} failed checks",
        report.artifact,
        report.inventory.packages.len(),
        found.vulnerabilities.len(),
        found.secrets.len(),
        found.misconfigurations.len()
    )?;
    for t in &targets {
        match t.class {
            Class::OsPkgs | Class::LangPkgs => package_section(report, t, out)?,
            Class::Secret => secret_section(t, out)?,
            Class::Config => config_section(t, out)?,
        }
    }
    let notes = &report.inventory.notes;
    if !notes.is_empty() {
        let mut table = new_table(&["Not analyzed", "Analyzer", "Why"]);
        for note in notes {
            table.add_row([&note.path, &note.analyzer, &note.message]);
        }
        writeln!(out, "\n{table}")?;
    }
    Ok(())
}
