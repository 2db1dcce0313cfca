//! A thread-per-connection TCP server on 127.0.0.1 that stops when dropped.

use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Read/write timeout on accepted connections.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Locks a mutex, ignoring poisoning (a panicking connection thread must not wedge tests).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Inner {
    shutdown: AtomicBool,
    next_id: AtomicU64,
    /// Clones of the open client connections, shut down on drop to unblock their threads.
    live: Mutex<HashMap<u64, TcpStream>>,
}

/// The accept thread of a server; dropping it stops accepting and shuts down the open
/// client connections (their threads then end on their next read or write).
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    inner: Arc<Inner>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds 127.0.0.1:0 and serves each connection with `handler` on its own thread.
    pub(crate) fn start<F>(name: &str, handler: F) -> std::io::Result<Server>
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            shutdown: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            live: Mutex::new(HashMap::new()),
        });
        let handler = Arc::new(handler);
        let thread_inner = Arc::clone(&inner);
        let thread_name = name.to_string();
        let accept = thread::Builder::new()
            .name(format!("{name}-accept"))
            .spawn(move || accept_loop(&listener, &thread_inner, &handler, &thread_name))?;
        Ok(Server {
            addr,
            inner,
            accept: Some(accept),
        })
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn accept_loop<F>(listener: &TcpListener, inner: &Arc<Inner>, handler: &Arc<F>, name: &str)
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    loop {
        let accepted = listener.accept();
        if inner.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(_) => {
                // e.g. out of file descriptors: back off instead of spinning.
                thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_nodelay(true);
        let id = inner.next_id.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&inner.live).insert(id, clone);
        }
        let conn_inner = Arc::clone(inner);
        let conn_handler = Arc::clone(handler);
        let spawned = thread::Builder::new()
            .name(format!("{name}-conn"))
            .spawn(move || {
                conn_handler(stream);
                lock(&conn_inner.live).remove(&id);
            });
        if spawned.is_err() {
            lock(&inner.live).remove(&id);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.inner.shutdown.store(true, Ordering::SeqCst);
        // Wake the blocking accept() with a connection to ourselves.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok();
        // Without the wake-up connection, leave the thread: it exits on its next accept.
        if let Some(handle) = self.accept.take()
            && woke
        {
            let _ = handle.join();
        }
        for (_, s) in lock(&self.inner.live).drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
