//! Any bytes given as a bootstrap: parse and read everything; errors are fine, panics,
//! hangs and runaway memory are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyscan_rafs::Bootstrap;

fuzz_target!(|data: &[u8]| {
    let Ok(boot) = Bootstrap::parse(data) else {
        return;
    };
    let _ = boot.check();
    // Lookups, paths and chunk tables go through other code than the walk.
    for path in [&b"/"[..], b"/a", b"/deep/level0/../level0", b"/links/hardlink", b"zz/.."] {
        if let Ok(Some(inode)) = boot.lookup(path) {
            let _ = boot.paths(inode.ino());
            let _ = inode.children().count();
        }
    }
    let _ = boot.hardlink_groups();
    let _ = boot.chunk_table().count();
    if let Ok(root) = boot.root() {
        for e in root.children().flatten().take(64) {
            if let Ok(i) = boot.inode(e.ino()) {
                let _ = i.chunks().count();
                let _ = i.xattrs().count();
            }
        }
    }
});
