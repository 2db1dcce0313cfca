//! Running commands against a bootstrap.

use nyscan_rafs::{Bootstrap, Chunk, FileKind, Ino, Inode};

use crate::command::Command;
use crate::error::InspectError;
use crate::report::{
    BlobReport, ChunkHit, ChunkReport, IcheckReport, LsEntry, PrefetchEntry, Response, StatReport,
    StatsReport, XattrReport,
};

/// Directories from the root down to an entry: (inode, name), the root's name empty.
type DirStack = Vec<(Ino, Vec<u8>)>;

/// An inspection session: a bootstrap and a current directory.
#[derive(Debug)]
pub struct Inspector<'b> {
    boot: &'b Bootstrap<'b>,
    cwd: DirStack,
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn join(parts: &[(Ino, Vec<u8>)]) -> Vec<u8> {
    let mut path = Vec::new();
    for (_, name) in parts.iter().skip(1) {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    path
}

impl<'b> Inspector<'b> {
    /// A session at the root directory.
    pub fn new(boot: &'b Bootstrap<'b>) -> Result<Self, InspectError> {
        let root = boot.root()?;
        Ok(Inspector {
            boot,
            cwd: vec![(root.ino(), Vec::new())],
        })
    }

    /// The current directory's absolute path.
    pub fn cwd(&self) -> String {
        lossy(&join(&self.cwd))
    }

    /// Names in the current directory with whether each is a directory (for completion).
    pub fn names_in_cwd(&self) -> Result<Vec<(String, bool)>, InspectError> {
        let dir = self.boot.inode(self.cwd.last().expect("root").0)?;
        dir.children()
            .map(|e| {
                let e = e?;
                Ok((lossy(e.name()), e.kind() == FileKind::Directory))
            })
            .collect()
    }

    /// Runs one command. `exit` is the caller's to handle; here it answers like `help`.
    pub fn execute(&mut self, command: &Command) -> Result<Response, InspectError> {
        Ok(match command {
            Command::Stats => Response::Stats(Box::new(self.stats())),
            Command::Ls => Response::Ls(self.ls()?),
            Command::Cd(dir) => {
                self.cd(dir)?;
                Response::Cd { cwd: self.cwd() }
            }
            Command::Stat(name) => {
                let (stack, inode) = self.resolve(name.as_bytes())?;
                Response::Stat(Box::new(self.stat(&stack, &inode)?))
            }
            Command::Blobs => Response::Blobs(self.blobs()),
            Command::Prefetch => Response::Prefetch(self.prefetch()?),
            Command::Chunk(offset) => Response::Chunk(self.chunk(*offset)?),
            Command::Icheck(ino) => Response::Icheck(Box::new(self.icheck(Ino(*ino))?)),
            Command::Help | Command::Exit => Response::Help {
                usage: Command::USAGE,
            },
        })
    }

    /// Resolves `path` against the current directory: the stack of directories from the
    /// root to the entry's parent followed by the entry, and the entry's inode.
    fn resolve(&self, path: &[u8]) -> Result<(DirStack, Inode<'b>), InspectError> {
        let mut stack = if path.starts_with(b"/") {
            self.cwd[..1].to_vec()
        } else {
            self.cwd.clone()
        };
        for part in path.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                }
                name => {
                    let dir = self.boot.inode(stack.last().expect("root").0)?;
                    if dir.kind() != FileKind::Directory {
                        return Err(InspectError::NotADirectory(lossy(&join(&stack))));
                    }
                    let entry = dir
                        .lookup(name)?
                        .ok_or_else(|| InspectError::NotFound(lossy(path)))?;
                    stack.push((entry.ino(), name.to_vec()));
                }
            }
        }
        let inode = self.boot.inode(stack.last().expect("root").0)?;
        Ok((stack, inode))
    }

    fn stats(&self) -> StatsReport {
        let sb = self.boot.superblock();
        StatsReport {
            inodes_count: sb.inodes_count,
            version: sb.version.number(),
            chunk_size: sb.chunk_size,
            root_inode: sb.root.0,
            flags: sb.flags.names(),
            flags_bits: sb.flags.bits(),
            compressor: sb.compressor.name(),
            digester: sb.digester.name(),
            explicit_uid_gid: sb.explicit_uid_gid,
            blob_count: self.boot.blobs().len(),
            blob_table_offset: sb.blob_table.offset,
            blob_table_size: sb.blob_table.size,
            prefetch_table_offset: sb.prefetch_table.offset,
            prefetch_table_entries: sb.prefetch_table.size / 4,
            chunk_table_offset: sb.chunk_table.map(|t| t.offset),
            chunk_table_size: sb.chunk_table.map(|t| t.size),
            inode_table_offset: sb.inode_table.map(|t| t.offset),
            inode_table_entries: sb.inode_table.map(|t| t.size / 4),
            extended_blob_table_offset: sb.extended_blob_table.map(|t| t.offset),
            meta_offset: sb.meta_offset,
            bootstrap_size: self.boot.bytes().len() as u64,
        }
    }

    fn ls(&self) -> Result<Vec<LsEntry>, InspectError> {
        let dir = self.boot.inode(self.cwd.last().expect("root").0)?;
        dir.children()
            .map(|e| {
                let e = e?;
                Ok(LsEntry {
                    name: lossy(e.name()),
                    inode: e.ino().0,
                    kind: e.kind().name(),
                })
            })
            .collect()
    }

    fn cd(&mut self, dir: &str) -> Result<(), InspectError> {
        let (stack, inode) = self.resolve(dir.as_bytes())?;
        if inode.kind() != FileKind::Directory {
            return Err(InspectError::NotADirectory(dir.to_owned()));
        }
        self.cwd = stack;
        Ok(())
    }

    fn chunk_report(&self, c: &Chunk) -> ChunkReport {
        ChunkReport {
            file_offset: c.file_offset,
            index: c.index,
            blob_index: c.blob_index,
            blob_id: self
                .boot
                .blobs()
                .get(c.blob_index as usize)
                .map(|b| b.id.clone())
                .unwrap_or_default(),
            compressed_offset: c.compressed_offset,
            compressed_size: c.compressed_size,
            uncompressed_offset: c.uncompressed_offset,
            uncompressed_size: c.uncompressed_size,
            digest: hex::encode(c.digest),
            crc32: c.crc32,
            flags: c.flags.names(),
        }
    }

    fn stat(
        &self,
        stack: &[(Ino, Vec<u8>)],
        inode: &Inode<'b>,
    ) -> Result<StatReport, InspectError> {
        let xattrs = inode
            .xattrs()
            .map(|x| {
                let x = x?;
                Ok(XattrReport {
                    name: lossy(&x.name()),
                    value: std::str::from_utf8(x.value()).ok().map(str::to_owned),
                    value_hex: hex::encode(x.value()),
                })
            })
            .collect::<Result<_, InspectError>>()?;
        let chunks = inode
            .chunks()
            .map(|c| Ok(self.chunk_report(&c?)))
            .collect::<Result<_, InspectError>>()?;
        let symlink_target = match inode.kind() {
            FileKind::Symlink => Some(lossy(inode.symlink_target()?)),
            _ => None,
        };
        let mode = inode.mode();
        Ok(StatReport {
            inode: inode.ino().0,
            name: if stack.len() > 1 {
                lossy(&stack.last().expect("entry").1)
            } else {
                "/".to_owned()
            },
            path: lossy(&join(stack)),
            kind: inode.kind().name(),
            size: inode.size(),
            parent: (stack.len() > 1).then(|| stack[stack.len() - 2].0.0),
            mode,
            permissions: format!("{:o}", mode & 0o7777),
            nlink: inode.nlink(),
            uid: inode.uid(),
            gid: inode.gid(),
            rdev: inode.rdev(),
            mtime: inode.mtime().map(|t| t.secs),
            mtime_nsec: inode.mtime().map(|t| t.nsecs),
            blocks: inode.blocks(),
            symlink_target,
            xattrs,
            chunks,
        })
    }

    fn blobs(&self) -> Vec<BlobReport> {
        self.boot
            .blobs()
            .iter()
            .map(|b| BlobReport {
                blob_id: b.id.clone(),
                readahead_offset: b.readahead.0,
                readahead_size: b.readahead.1,
                decompressed_size: b.uncompressed_size,
                compressed_size: b.compressed_size,
                blob_index: b.index,
                chunk_count: b.chunk_count,
                chunk_size: b.chunk_size,
                features: b.features.names(),
                compressor: b.compressor.name(),
                digester: b.digester.name(),
                mapped_blkaddr: b.mapped_blkaddr,
                meta_ci_offset: b.meta.map(|m| m.ci_offset),
                meta_ci_compressed_size: b.meta.map(|m| m.ci_compressed_size),
                meta_ci_uncompressed_size: b.meta.map(|m| m.ci_uncompressed_size),
                toc_size: b.meta.map(|m| m.toc_size),
            })
            .collect()
    }

    /// Every path of `ino`; directories end with `/` (as `nydus-image inspect` prints them).
    fn display_paths(&self, ino: Ino) -> Result<Vec<String>, InspectError> {
        let is_dir = self.boot.inode(ino)?.kind() == FileKind::Directory;
        Ok(self
            .boot
            .paths(ino)?
            .into_iter()
            .map(|p| {
                let mut s = lossy(&p);
                if is_dir && !s.ends_with('/') {
                    s.push('/');
                }
                s
            })
            .collect())
    }

    fn prefetch(&self) -> Result<Vec<PrefetchEntry>, InspectError> {
        self.boot
            .prefetch()?
            .into_iter()
            .map(|ino| {
                Ok(PrefetchEntry {
                    inode: ino.0,
                    path: self.display_paths(ino)?,
                })
            })
            .collect()
    }

    fn chunk(&self, offset: u64) -> Result<Vec<ChunkHit>, InspectError> {
        let mut hits = Vec::new();
        for entry in self.boot.walk() {
            let entry = entry?;
            if entry.inode.kind() != FileKind::Regular {
                continue;
            }
            for c in entry.inode.chunks() {
                let c = c?;
                if c.compressed_offset != offset {
                    continue;
                }
                let path = lossy(&entry.path);
                let parent_path = match path.rsplit_once('/') {
                    Some(("", _)) | None => "/".to_owned(),
                    Some((p, _)) => p.to_owned(),
                };
                hits.push(ChunkHit {
                    path,
                    parent_path,
                    inode: entry.inode.ino().0,
                    chunk: self.chunk_report(&c),
                });
            }
        }
        Ok(hits)
    }

    fn icheck(&self, ino: Ino) -> Result<IcheckReport, InspectError> {
        let inode = self.boot.inode(ino)?;
        let paths = self.boot.paths(ino)?;
        let first = paths
            .first()
            .ok_or(nyscan_rafs::Error::NoSuchInode { ino: ino.0 })?;
        // Rebuild the directory stack of the first path for the parent and name.
        let (stack, _) = self.resolve(first)?;
        Ok(IcheckReport {
            inode: ino.0,
            paths: paths.iter().map(|p| lossy(p)).collect(),
            stat: self.stat(&stack, &inode)?,
        })
    }
}
