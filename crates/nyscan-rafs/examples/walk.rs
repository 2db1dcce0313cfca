//! Prints every entry of a bootstrap: `cargo run --example walk -- BOOTSTRAP`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: walk BOOTSTRAP")?;
    let bytes = std::fs::read(path)?;
    let boot = nyscan_rafs::Bootstrap::parse(&bytes)?;
    println!("{:?}", boot.superblock());
    for entry in boot.walk() {
        let entry = entry?;
        let i = entry.inode;
        println!(
            "{:>8} {:7} {:o} {}:{} size {} nlink {} chunks {} {}",
            i.ino(),
            i.kind().name(),
            i.mode(),
            i.uid(),
            i.gid(),
            i.size(),
            i.nlink(),
            i.chunk_count(),
            String::from_utf8_lossy(&entry.path)
        );
        for c in i.chunks() {
            c?;
        }
        for x in i.xattrs() {
            x?;
        }
    }
    Ok(())
}
