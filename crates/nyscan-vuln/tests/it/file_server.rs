//! A small HTTP/1.1 server of in-memory files on 127.0.0.1, for the update tests: it
//! honours `Range: bytes=N-` guarded by `If-Range` (the file's ETag), logs requests, and can
//! cut one response short to simulate an interrupted download.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Logged {
    pub(crate) path: String,
    pub(crate) range: Option<String>,
    pub(crate) if_range: Option<String>,
    pub(crate) status: u16,
}

#[derive(Debug, Default)]
struct State {
    files: HashMap<String, (Vec<u8>, String)>,
    cut_next_after: Option<usize>,
    log: Vec<Logged>,
}

#[derive(Debug)]
pub(crate) struct FileServer {
    pub(crate) base_url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl FileServer {
    pub(crate) fn start() -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = stream {
                    let _ = serve(s, &st);
                }
            }
        });
        FileServer {
            base_url: format!("http://{addr}"),
            state,
            stop,
            addr,
            thread: Some(thread),
        }
    }

    /// Publishes `body` at `path`; the ETag changes with the content.
    pub(crate) fn put(&self, path: &str, body: Vec<u8>) {
        let etag = format!(
            "\"{:x}-{}\"",
            body.iter()
                .fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b))),
            body.len()
        );
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_owned(), (body, etag));
    }

    /// The next response body stops after `n` bytes and the connection closes.
    pub(crate) fn cut_next_after(&self, n: usize) {
        self.state.lock().unwrap().cut_next_after = Some(n);
    }

    pub(crate) fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let (mut range, mut if_range) = (None, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "range" => range = Some(value.trim().to_owned()),
                "if-range" => if_range = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut st = state.lock().unwrap();
    let mut out = stream;
    let Some((body, etag)) = st.files.get(&path).cloned() else {
        st.log.push(Logged {
            path,
            range,
            if_range,
            status: 404,
        });
        out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    };
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|_| if_range.as_deref().is_none_or(|v| v == etag));
    let (status, head, part) = match start {
        Some(s) if s >= body.len() => (
            416,
            format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\n",
                body.len()
            ),
            &body[0..0],
        ),
        Some(s) => (
            206,
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{}\r\nContent-Length: {}\r\nETag: {etag}\r\n",
                body.len() - 1,
                body.len(),
                body.len() - s
            ),
            &body[s..],
        ),
        None => (
            200,
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\n",
                body.len()
            ),
            &body[..],
        ),
    };
    st.log.push(Logged {
        path,
        range,
        if_range,
        status,
    });
    let cut = st.cut_next_after.take();
    drop(st);
    out.write_all(head.as_bytes())?;
    out.write_all(b"Content-Type: application/zip\r\nConnection: close\r\n\r\n")?;
    match cut {
        Some(n) if n < part.len() => {
            out.write_all(&part[..n])?;
            out.flush()?;
            out.shutdown(Shutdown::Both)?;
        }
        _ => out.write_all(part)?,
    }
    Ok(())
}
