//! A plugin process as go-plugin runs one: started with the magic cookie and the
//! protocol versions plinth speaks, its handshake line read from stdout, a gRPC
//! channel over the unix socket it names, its stderr kept for crash reports, and on
//! shutdown `GRPCController.Shutdown`, then a kill if it has not exited. Nothing here
//! knows the provider protocol; `plugin5.rs` and `plugin6.rs` speak it over the channel.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plinth_protocol::goplugin::grpc_controller_client::GrpcControllerClient;
use plinth_protocol::handshake::{CORE_PROTOCOL_VERSION, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use tonic::transport::Channel;

use crate::plan::lock;

/// How long a plugin may take to print its handshake line.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a plugin may take to exit once asked to stop, before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Lines of a plugin's stderr kept for the diagnostic if it crashes.
const STDERR_KEPT: usize = 40;

/// Why a plugin could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start {}: {source}", .path.display())]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the plugin has no stdout")]
    NoStdout,
    #[error("{} did not start as a plugin: {why}{}", .path.display(), on_new_line(.stderr))]
    NoHandshake {
        path: PathBuf,
        why: &'static str,
        /// The last lines of the plugin's stderr.
        stderr: String,
    },
    #[error("{}: bad handshake line {line:?}", .path.display())]
    BadHandshake { path: PathBuf, line: String },
    #[error("{}: unsupported go-plugin core version {version}", .path.display())]
    CoreVersion { path: PathBuf, version: String },
    #[error("{}: plugin protocol {protocol} is not 5 or 6", .path.display())]
    Protocol { path: PathBuf, protocol: String },
    #[error("{}: plinth speaks gRPC over unix sockets; the plugin offered {protocol} over {network}", .path.display())]
    Transport {
        path: PathBuf,
        protocol: String,
        network: String,
    },
    #[error("{}: cannot connect: {source}", .path.display())]
    Connect {
        path: PathBuf,
        source: tonic::transport::Error,
    },
}

/// `text` on a line of its own after what precedes it, or nothing when it is empty.
fn on_new_line(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("\n{text}")
    }
}

/// A running plugin process and the gRPC channel to it.
pub struct PluginProcess {
    /// The protocol version the plugin chose in its handshake (5 or 6).
    pub protocol: u32,
    pub channel: Channel,
    controller: GrpcControllerClient<Channel>,
    child: Mutex<Option<Child>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl PluginProcess {
    /// Starts the plugin at `path` (`name` labels its stderr lines under `PLINTH_LOG`),
    /// reads its handshake and connects to it.
    pub async fn start(name: &str, path: &Path) -> Result<PluginProcess, StartError> {
        let mut child = Command::new(path)
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("TF_PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| StartError::Spawn {
                path: path.to_path_buf(),
                source,
            })?;
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(err) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            let label = name.to_string();
            std::thread::spawn(move || {
                let echo = std::env::var_os("PLINTH_LOG").is_some();
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if echo {
                        eprintln!("[{label}] {line}");
                    }
                    let mut kept = lock(&kept);
                    if kept.len() == STDERR_KEPT {
                        kept.pop_front();
                    }
                    kept.push_back(line);
                }
            });
        }
        let stdout = child.stdout.take().ok_or(StartError::NoStdout)?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Anything printed later goes the way of stderr's lines: dropped unless logged.
            for _ in lines.map_while(Result::ok) {}
        });
        let line = match rx.recv_timeout(HANDSHAKE_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError::NoHandshake {
                    path: path.to_path_buf(),
                    why: match other {
                        Err(_) => "it printed no handshake within 60 s",
                        _ => "it exited before its handshake",
                    },
                    stderr: tail(&stderr),
                });
            }
        };
        let fail = |child: &mut Child, e: StartError| {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        };
        let path = path.to_path_buf();
        let parts: Vec<&str> = line.trim().split('|').collect();
        if parts.len() < 5 {
            return fail(&mut child, StartError::BadHandshake { path, line });
        }
        if parts[0] != CORE_PROTOCOL_VERSION.to_string() {
            let version = parts[0].to_string();
            return fail(&mut child, StartError::CoreVersion { path, version });
        }
        let protocol: u32 = match parts[1].parse() {
            Ok(p @ (5 | 6)) => p,
            _ => {
                let protocol = parts[1].to_string();
                return fail(&mut child, StartError::Protocol { path, protocol });
            }
        };
        if parts[2] != "unix" || parts[4] != "grpc" {
            let (protocol, network) = (parts[4].to_string(), parts[2].to_string());
            return fail(
                &mut child,
                StartError::Transport {
                    path,
                    protocol,
                    network,
                },
            );
        }
        let socket = PathBuf::from(parts[3]);
        let channel = match connect(socket).await {
            Ok(c) => c,
            Err(source) => return fail(&mut child, StartError::Connect { path, source }),
        };
        Ok(PluginProcess {
            protocol,
            controller: GrpcControllerClient::new(channel.clone()),
            channel,
            child: Mutex::new(Some(child)),
            stderr,
        })
    }

    /// Whether the process is still running.
    pub fn is_running(&self) -> bool {
        match lock(&self.child).as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The last lines the plugin wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        tail(&self.stderr)
    }

    /// What a failed call says: the status while the process runs, else that it exited,
    /// with the last lines of its stderr.
    pub fn call_failed(&self, e: &tonic::Status) -> String {
        if self.is_running() {
            e.message().to_string()
        } else {
            let tail = self.stderr_tail();
            format!(
                "the plugin process exited{}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(":\n{tail}")
                }
            )
        }
    }

    /// go-plugin's `GRPCController.Shutdown`: asks the plugin process to exit.
    pub async fn request_shutdown(&self) {
        let _ = self
            .controller
            .clone()
            .shutdown(plinth_protocol::goplugin::Empty {})
            .await;
    }

    /// Waits a few seconds for the process to exit, then kills it.
    pub async fn wait_or_kill(&self) {
        let Some(mut child) = lock(&self.child).take() else {
            return;
        };
        let deadline = std::time::Instant::now() + STOP_TIMEOUT;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        if let Some(mut child) = lock(&self.child).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn tail(lines: &Mutex<VecDeque<String>>) -> String {
    lock(lines).iter().cloned().collect::<Vec<_>>().join("\n")
}

/// A gRPC channel over a unix socket (the URI is a placeholder tonic requires).
async fn connect(socket: PathBuf) -> Result<Channel, tonic::transport::Error> {
    tonic::transport::Endpoint::from_static("http://plugin.invalid")
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
}
