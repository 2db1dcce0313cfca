//! The interactive prompt driven through a pty, as a new user would: completion, cd into a
//! deep directory, stat a hardlink, chunk by offset, icheck.

use std::time::Duration;

use expectrl::Expect;
use expectrl::session::OsSession as Session;

use crate::{boot, nyscan};

fn session(name: &str) -> Session {
    let mut cmd = nyscan();
    cmd.arg("inspect").arg(boot(name)).env("TERM", "xterm");
    let mut s = Session::spawn(cmd).expect("spawn in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s
}

fn walk_through(name: &str, hardlink_ino: u64) {
    let mut s = session(name);
    s.expect("Type `help`").unwrap();
    s.expect("nyscan:/> ").unwrap();
    // Tab completes the directory name in the current directory.
    s.send("cd dee\t").unwrap();
    s.send("\r").unwrap();
    s.expect("nyscan:/deep> ").unwrap();
    s.send_line("cd level0/level1/level2/level3/level4/level5/level6/level7/level8/level9")
        .unwrap();
    s.expect(
        "nyscan:/deep/level0/level1/level2/level3/level4/level5/level6/level7/level8/level9> ",
    )
    .unwrap();
    s.send_line("ls").unwrap();
    s.expect("\"level10\"").unwrap();
    s.send_line("cd /links").unwrap();
    s.expect("nyscan:/links> ").unwrap();
    s.send_line("stat hardlink").unwrap();
    s.expect(format!("Inode Number:       {hardlink_ino}").as_str())
        .unwrap();
    s.expect("Nlink:              3").unwrap();
    s.expect("Chunk list:").unwrap();
    s.send_line("stat nope").unwrap();
    s.expect("no such file or directory: nope").unwrap();
    s.send_line("icheck ".to_owned() + &hardlink_ino.to_string())
        .unwrap();
    s.expect("Path:               /hardlink-at-root").unwrap();
    s.expect("Path:               /links/hardlink").unwrap();
    s.expect("Path:               /links/target.txt").unwrap();
    s.send_line("q").unwrap();
    s.expect(expectrl::Eof).unwrap();
}

#[test]
fn prompt_v6() {
    walk_through("v6-zstd", 147);
    // chunk by offset: the shared first chunk of the two dedup files.
    let mut s = session("v6-zstd");
    s.expect("nyscan:/> ").unwrap();
    s.send_line("chunk 178").unwrap();
    s.expect("File:                   /dedup/one").unwrap();
    s.expect("File:                   /dedup/two").unwrap();
    s.send_line("exit").unwrap();
    s.expect(expectrl::Eof).unwrap();
}

#[test]
fn prompt_v5() {
    walk_through("v5-lz4", 10);
}
