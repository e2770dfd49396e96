//! The service's HTTP endpoints on `--listen`: `GET /metrics` (the Prometheus text
//! format), `GET /healthz` (`ok`), 404 otherwise. A small HTTP/1.1 server on one
//! thread: scrapes are rare and small, so requests are answered one after the other,
//! each connection closed after its answer.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::metrics::Metrics;

/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the listener looks at its stop flag when no client connects.
const POLL: Duration = Duration::from_millis(25);

/// The largest request head read.
const MAX_HEAD: usize = 16 * 1024;

/// A running listener; [`Listener::stop`] (or dropping it) ends its thread.
pub struct Listener {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Binds `address` (port 0: any free port) and starts answering.
    pub fn start(address: &str, metrics: Arc<Metrics>) -> io::Result<Listener> {
        let socket = TcpListener::bind(address)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {address}: {e}")))?;
        socket.set_nonblocking(true)?;
        let bound = socket.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("reconcile-http".into())
            .spawn(move || {
                while !flag.load(Ordering::SeqCst) {
                    match socket.accept() {
                        Ok((stream, _)) => {
                            let _ = answer(stream, &metrics);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
                        Err(_) => std::thread::sleep(POLL),
                    }
                }
            })?;
        Ok(Listener {
            address: bound,
            stop,
            thread: Some(thread),
        })
    }

    /// The address bound (the port chosen, for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.shut();
    }
}

fn answer(mut stream: TcpStream, metrics: &Metrics) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return respond(
                &mut stream,
                431,
                "text/plain",
                b"request head too large\n",
                true,
            );
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut request_line = text.lines().next().unwrap_or("").split_whitespace();
    let method = request_line.next().unwrap_or("");
    let target = request_line.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    let with_body = method != "HEAD";
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => respond(
            &mut stream,
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render().as_bytes(),
            with_body,
        ),
        ("GET" | "HEAD", "/healthz") => respond(&mut stream, 200, "text/plain", b"ok\n", with_body),
        ("GET" | "HEAD", _) => respond(&mut stream, 404, "text/plain", b"not found\n", with_body),
        _ => respond(
            &mut stream,
            405,
            "text/plain",
            b"only GET is served\n",
            true,
        ),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Request Header Fields Too Large",
    };
    let mut reply = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status == 405 {
        reply.push_str("Allow: GET, HEAD\r\n");
    }
    reply.push_str("\r\n");
    let mut bytes = reply.into_bytes();
    if with_body {
        bytes.extend_from_slice(body);
    }
    stream.write_all(&bytes)?;
    stream.flush()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `METHOD path` against `address`: the status and the body.
    pub(crate) fn request(address: SocketAddr, method: &str, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(address).unwrap();
        write!(stream, "{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        let status = reply[9..12].parse().unwrap();
        let body = reply
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap();
        (status, body)
    }

    #[test]
    fn serves_metrics_and_health_and_nothing_else() {
        let metrics = Arc::new(Metrics::new(["a"]));
        let listener = Listener::start("127.0.0.1:0", metrics).unwrap();
        let address = listener.address();
        assert_ne!(address.port(), 0);
        assert_eq!(request(address, "GET", "/healthz"), (200, "ok\n".into()));
        let (status, body) = request(address, "GET", "/metrics");
        assert_eq!(status, 200);
        assert!(body.contains("plinth_reconcile_runs_total{stack=\"a\",result=\"clean\"} 0"));
        assert_eq!(request(address, "GET", "/").0, 404);
        assert_eq!(request(address, "POST", "/metrics").0, 405);
        listener.stop();
        assert!(TcpStream::connect(address).is_err());
    }
}
