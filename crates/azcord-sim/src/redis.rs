//! [`RedisServer`]: a real `redis-server` on a free loopback port, for the tests of
//! the Redis store. Nothing is saved: no RDB snapshot, no append-only file.

use std::{
    io::{BufRead as _, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use crate::{tls::TestCa, tools::require_tool};

/// How to install the server, for the `SKIPPED:` line.
const INSTALL: &str = "apt-get install redis-server";

/// A `redis-server` child process on 127.0.0.1, killed when dropped.
pub struct RedisServer {
    program: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    tls: bool,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it accepts
    /// connections; `None` (after a `SKIPPED:` line) when `redis-server` is missing
    /// outside CI.
    ///
    /// Panics when `CI` is set and `redis-server` is missing, or if it does not start.
    pub fn start() -> Option<Self> {
        let program = require_tool("redis-server", INSTALL)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let dir = std::env::temp_dir().join(format!("azcord-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for redis-server");
        let mut server = Self {
            program,
            port,
            dir,
            child: None,
            tls: false,
        };
        server.restart();
        Some(server)
    }

    /// Like [`RedisServer::start`], but the server speaks only TLS, with a certificate
    /// that `ca` issued for loopback, as Azure's Redis services do.
    ///
    /// Panics as [`RedisServer::start`] does, or if the certificate cannot be written.
    pub fn start_tls(ca: &TestCa) -> Option<Self> {
        let mut server = Self::start()?;
        ca.write_server_pem(
            &server.dir.join("server.pem"),
            &server.dir.join("server.key"),
        )
        .expect("the server's certificate is written");
        server.tls = true;
        server.restart();
        Some(server)
    }

    /// `redis://127.0.0.1:PORT`, or `rediss://` when the server speaks TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it to exit. Everything it held is lost.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it is ready.
    pub fn restart(&mut self) {
        self.stop();
        let mut command = Command::new(&self.program);
        if self.tls {
            let file = |name: &str| self.dir.join(name).display().to_string();
            command
                .args(["--port", "0"])
                .args(["--tls-port", &self.port.to_string()])
                .args(["--tls-cert-file", &file("server.pem")])
                .args(["--tls-key-file", &file("server.key")])
                .args(["--tls-auth-clients", "no"]);
        } else {
            command.args(["--port", &self.port.to_string()]);
        }
        let mut child = command
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &self.dir.display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let stdout = child.stdout.take().expect("redis-server's stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("Ready to accept connections"));
        assert!(ready, "redis-server on port {} did not start", self.port);
        // Keep draining its log so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        self.child = Some(child);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
