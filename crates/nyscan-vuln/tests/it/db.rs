//! The database: importing OSV `all.zip`-shaped archives made here and directories of JSON,
//! `info`, scanning through it, and `update` from a local HTTP server of files, with an
//! interrupted download resumed.

use std::io::Write as _;
use std::path::Path;

use nyscan_analyze::package::PackageType;
use nyscan_vuln::db::{UpdateOptions, UpdateProgress, update};
use nyscan_vuln::{DbError, VulnDb};
use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use crate::file_server::FileServer;
use crate::matching::{os, package};

fn vuln(id: &str, ecosystem: &str, name: &str, fixed: &str) -> Value {
    json!({
        "id": id,
        "modified": "2024-05-01T00:00:00Z",
        "aliases": [format!("CVE-2099-{}", &id[id.len() - 2..])],
        "summary": format!("{name} flaw"),
        "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
    })
}

/// A zip archive like OSV's per-ecosystem exports: one `ID.json` per record.
fn zip_of(members: &[(&str, Vec<u8>)], compressed: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if compressed {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = SimpleFileOptions::default().compression_method(method);
    w.add_directory("extra/", options).unwrap();
    for (name, bytes) in members {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn debian_export() -> Vec<u8> {
    zip_of(
        &[
            (
                "NYTEST-20.json",
                json_bytes(&vuln(
                    "NYTEST-20",
                    "Debian:12",
                    "openssl",
                    "3.0.15-1~deb12u1",
                )),
            ),
            (
                "NYTEST-21.json",
                json_bytes(&vuln(
                    "NYTEST-21",
                    "Debian:11",
                    "openssl",
                    "1.1.1w-0+deb11u2",
                )),
            ),
            ("broken.json", b"{\"id\": \"NYTEST-BROKEN\", ".to_vec()),
            ("NYTEST-22.json", {
                let mut v = vuln("NYTEST-22", "Debian:12", "openssl", "9.9");
                v["withdrawn"] = json!("2024-06-01T00:00:00Z");
                json_bytes(&v)
            }),
            (
                "NYTEST-23.json",
                json_bytes(&vuln("NYTEST-23", "Brand New:1", "thing", "2.0")),
            ),
            ("README.txt", b"not a record".to_vec()),
        ],
        true,
    )
}

#[test]
fn import_of_an_osv_all_zip_archive() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("Debian/all.zip");
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    std::fs::write(&archive, debian_export()).unwrap();
    let db_path = dir.path().join("db/vuln.db");

    let mut db = VulnDb::create(&db_path).unwrap();
    let mut seen = Vec::new();
    let report = db
        .import(std::slice::from_ref(&archive), &mut |source, n| {
            seen.push((source.to_owned(), n))
        })
        .unwrap();
    assert_eq!(report.records, 4);
    assert_eq!(report.sources, [("Debian/all.zip".to_owned(), 4)]);
    assert_eq!(report.skipped_count, 1);
    assert!(
        report.skipped[0].location.ends_with("all.zip!broken.json"),
        "{:?}",
        report.skipped
    );
    assert!(
        report.skipped[0].reason.contains("not an OSV record"),
        "{:?}",
        report.skipped
    );
    assert_eq!(seen.last(), Some(&("Debian/all.zip".to_owned(), 4)));
    drop(db);

    let db = VulnDb::open(&db_path).unwrap();
    let info = db.info().unwrap();
    assert_eq!((info.records, info.withdrawn), (4, 1));
    assert_eq!(
        info.ecosystems,
        [("Brand New".to_owned(), 1), ("Debian".to_owned(), 3)]
    );
    assert_eq!(info.sources.len(), 1);
    assert_eq!(info.sources[0].records, 4);
    assert!(info.sources[0].location.ends_with("Debian/all.zip"));
    assert!(info.last_update.is_some());
    // The unknown ecosystem's record is kept whole.
    assert_eq!(
        db.record("NYTEST-23").unwrap().unwrap().affected[0]
            .package
            .as_ref()
            .unwrap()
            .ecosystem,
        "Brand New:1"
    );

    let packages = [
        package(
            PackageType::Dpkg,
            "libssl3",
            "3.0.14-1~deb12u2",
            Some(("openssl", "3.0.14-1~deb12u2")),
        ),
        package(
            PackageType::Dpkg,
            "bash",
            "5.2.15-2+b7",
            Some(("bash", "5.2.15-2")),
        ),
        package(PackageType::CondaPkg, "numpy", "1.26.0", None),
    ];
    let outcome = db.scan(&packages, Some(&os("debian", "12.5"))).unwrap();
    let ids: Vec<&str> = outcome.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        ["NYTEST-20"],
        "withdrawn NYTEST-22 and Debian:11's NYTEST-21 must not match"
    );
    assert_eq!(outcome.findings[0].aliases, ["CVE-2099-20"]);
    assert_eq!(
        outcome.findings[0].fixed_version.as_deref(),
        Some("3.0.15-1~deb12u1")
    );
    assert_eq!(outcome.checked, 2);
    assert_eq!(outcome.warnings.len(), 1);
    assert!(
        outcome.warnings[0].message.contains("conda-pkg"),
        "{:?}",
        outcome.warnings
    );
}

#[test]
fn import_of_a_directory_of_records_replaces_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("osv");
    std::fs::create_dir_all(records.join("nested/deeper")).unwrap();
    std::fs::write(
        records.join("a.json"),
        json_bytes(&vuln("NYTEST-30", "PyPI", "Demo_Pkg", "1.0")),
    )
    .unwrap();
    std::fs::write(
        records.join("nested/deeper/b.json"),
        json_bytes(&vuln("NYTEST-31", "npm", "demo", "2.0.0")),
    )
    .unwrap();
    std::fs::write(records.join("nested/notes.md"), "ignored").unwrap();
    let db_path = dir.path().join("vuln.db");
    let mut db = VulnDb::create(&db_path).unwrap();
    assert_eq!(
        db.import(std::slice::from_ref(&records), &mut |_, _| {})
            .unwrap()
            .records,
        2
    );
    // Importing a newer copy replaces the record, it does not add one.
    std::fs::write(
        records.join("a.json"),
        json_bytes(&vuln("NYTEST-30", "PyPI", "demo-pkg", "1.1")),
    )
    .unwrap();
    assert_eq!(
        db.import(std::slice::from_ref(&records), &mut |_, _| {})
            .unwrap()
            .records,
        2
    );
    let info = db.info().unwrap();
    assert_eq!(info.records, 2);
    assert_eq!(
        info.ecosystems,
        [("PyPI".to_owned(), 1), ("npm".to_owned(), 1)]
    );
    let found = db
        .scan(
            &[package(PackageType::PythonPkg, "demo.pkg", "1.0", None)],
            None,
        )
        .unwrap();
    assert_eq!(found.findings.len(), 1);
    assert_eq!(found.findings[0].fixed_version.as_deref(), Some("1.1"));

    // A single .json file, and a path that is none of these.
    std::fs::write(
        dir.path().join("one.json"),
        json_bytes(&vuln("NYTEST-32", "Go", "example.com/m", "1.2.0")),
    )
    .unwrap();
    assert_eq!(
        db.import(&[dir.path().join("one.json")], &mut |_, _| {})
            .unwrap()
            .records,
        1
    );
    std::fs::write(dir.path().join("x.tar"), "tar").unwrap();
    let err = db
        .import(&[dir.path().join("x.tar")], &mut |_, _| {})
        .unwrap_err();
    assert!(matches!(err, DbError::NotAnExport { .. }), "{err}");
    // A damaged archive is an error naming it; the database keeps what it had.
    std::fs::write(dir.path().join("bad.zip"), b"PK\x03\x04 not really").unwrap();
    let err = db
        .import(&[dir.path().join("bad.zip")], &mut |_, _| {})
        .unwrap_err();
    assert!(err.to_string().contains("bad.zip"), "{err}");
    assert_eq!(db.info().unwrap().records, 3);
}

#[test]
fn open_refuses_what_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let err = VulnDb::open(&dir.path().join("none.db")).unwrap_err();
    assert!(err.is_missing());
    std::fs::write(
        dir.path().join("junk.db"),
        "this is not sqlite at all, not even close",
    )
    .unwrap();
    assert!(VulnDb::open(&dir.path().join("junk.db")).is_err());
}

/// A record padded with incompressible text, so archives are big enough to cut.
fn big_vuln(id: &str, ecosystem: &str, name: &str, fixed: &str, seed: u64) -> Vec<u8> {
    let mut v = vuln(id, ecosystem, name, fixed);
    let mut x = seed | 1;
    let details: String = (0..150_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    v["details"] = json!(details);
    json_bytes(&v)
}

fn debian_archive(fixed: &str) -> Vec<u8> {
    zip_of(
        &[
            (
                "NYTEST-40.json",
                big_vuln("NYTEST-40", "Debian:12", "openssl", fixed, 1),
            ),
            (
                "NYTEST-41.json",
                big_vuln("NYTEST-41", "Debian:12", "zlib", "1:1.2.13.dfsg-2", 2),
            ),
        ],
        false,
    )
}

fn options(server: &FileServer, download_dir: &Path) -> UpdateOptions {
    UpdateOptions {
        base_url: format!("{}/osv/", server.base_url),
        ecosystems: vec!["Debian".to_owned(), "PyPI".to_owned()],
        download_dir: Some(download_dir.to_owned()),
    }
}

#[test]
fn update_downloads_resumes_and_swaps_atomically() {
    let server = FileServer::start();
    let debian = debian_archive("3.0.15-1~deb12u1");
    let pypi = zip_of(
        &[(
            "NYTEST-42.json",
            json_bytes(&vuln("NYTEST-42", "PyPI", "demo", "2.0")),
        )],
        true,
    );
    server.put("/osv/Debian/all.zip", debian.clone());
    server.put("/osv/PyPI/all.zip", pypi);

    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("vuln.db");
    let downloads = dir.path().join("dl");
    // An old database, to see it survive a failed update.
    {
        let mut db = VulnDb::create(&db_path).unwrap();
        std::fs::write(
            dir.path().join("old.json"),
            json_bytes(&vuln("NYTEST-OLD", "npm", "old", "1.0.0")),
        )
        .unwrap();
        db.import(&[dir.path().join("old.json")], &mut |_, _| {})
            .unwrap();
    }

    // 1. The Debian archive is cut after 100,000 bytes: the update fails, the old database
    //    stays, the partial download stays.
    server.cut_next_after(100_000);
    let err = update(&db_path, &options(&server, &downloads), &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, DbError::Truncated { got: 100_000, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("run the update again to resume"),
        "{err}"
    );
    let info = VulnDb::open(&db_path).unwrap().info().unwrap();
    assert_eq!(info.records, 1, "the old database is untouched");
    assert_eq!(
        std::fs::metadata(downloads.join("Debian.zip.part"))
            .unwrap()
            .len(),
        100_000
    );

    // 2. Again: the download resumes at byte 100,000, and the new database replaces the old.
    let mut progress = Vec::new();
    let report = update(&db_path, &options(&server, &downloads), &mut |p| {
        if let UpdateProgress::Downloading {
            ecosystem,
            done,
            total,
        } = p
        {
            progress.push((ecosystem.to_owned(), done, total));
        }
    })
    .unwrap();
    let log = server.log();
    let resumed = &log[log.len() - 2];
    assert_eq!(resumed.path, "/osv/Debian/all.zip");
    assert_eq!(resumed.range.as_deref(), Some("bytes=100000-"));
    assert!(
        resumed.if_range.is_some(),
        "the resume names the file version"
    );
    assert_eq!(resumed.status, 206);
    assert_eq!(report.downloads[0].resumed_from, 100_000);
    assert_eq!(report.downloads[0].bytes, debian.len() as u64);
    assert_eq!(report.import.records, 3);
    assert!(progress.iter().any(|(e, done, total)| e == "Debian"
        && *done == debian.len() as u64
        && *total == Some(debian.len() as u64)));
    let db = VulnDb::open(&db_path).unwrap();
    let info = db.info().unwrap();
    assert_eq!(info.records, 3);
    assert!(
        db.record("NYTEST-OLD").unwrap().is_none(),
        "the update replaces the database"
    );
    let names: Vec<&str> = info.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Debian", "PyPI"]);
    assert!(info.sources[0].location.ends_with("/osv/Debian/all.zip"));
    // The resumed archive is byte-exact: its records read back whole.
    assert_eq!(
        db.record("NYTEST-41")
            .unwrap()
            .unwrap()
            .details
            .unwrap()
            .len(),
        150_000
    );
    let outcome = db
        .scan(
            &[package(
                PackageType::Dpkg,
                "libssl3",
                "3.0.14-1~deb12u2",
                Some(("openssl", "3.0.14-1~deb12u2")),
            )],
            Some(&os("debian", "12")),
        )
        .unwrap();
    assert_eq!(outcome.findings.len(), 1);
    assert!(!downloads.join("Debian.zip").exists() && !downloads.join("Debian.zip.part").exists());
}

#[test]
fn a_partial_download_of_a_file_that_changed_restarts() {
    let server = FileServer::start();
    server.put("/osv/Debian/all.zip", debian_archive("3.0.15-1~deb12u1"));
    server.put("/osv/PyPI/all.zip", zip_of(&[], true));
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("vuln.db");
    let downloads = dir.path().join("dl");
    server.cut_next_after(50_000);
    assert!(update(&db_path, &options(&server, &downloads), &mut |_| {}).is_err());
    assert!(!db_path.exists(), "no database is left half-built");

    // The export was republished meanwhile: If-Range no longer matches, the server sends
    // the whole new file, and the result is the new file, not a splice.
    let newer = debian_archive("3.0.16-1~deb12u1");
    server.put("/osv/Debian/all.zip", newer.clone());
    let report = update(&db_path, &options(&server, &downloads), &mut |_| {}).unwrap();
    let log = server.log();
    assert_eq!(log[log.len() - 2].range.as_deref(), Some("bytes=50000-"));
    assert_eq!(log[log.len() - 2].status, 200);
    assert_eq!(report.downloads[0].resumed_from, 0);
    assert_eq!(report.downloads[0].bytes, newer.len() as u64);
    let db = VulnDb::open(&db_path).unwrap();
    let r = db.record("NYTEST-40").unwrap().unwrap();
    let fixed = r.affected[0].ranges[0].events[1].fixed.clone();
    assert_eq!(fixed.as_deref(), Some("3.0.16-1~deb12u1"));
}

#[test]
fn update_reports_http_errors_by_url() {
    let server = FileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let err = update(
        &dir.path().join("vuln.db"),
        &options(&server, &dir.path().join("dl")),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, DbError::HttpStatus { status: 404, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("/osv/Debian/all.zip"), "{err}");
}
