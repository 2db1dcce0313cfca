//! Integration tests of nyscan-vuln.

mod apk;
mod cvss;
mod db;
mod differential;
mod file_server;
mod generate;
mod matching;
mod peers;
