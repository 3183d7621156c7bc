//! A real registry on loopback (Debian's `docker-registry`, the reference
//! distribution server), a proxy in front of it that counts blob uploads, and just
//! enough HTTP to read what was pushed.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::scratch_dir;

/// The install line for the registry server.
pub(crate) const INSTALL: &str = "apt-get install -y docker-registry";

/// A user and password the registry accepts when started with `Auth::Htpasswd`.
pub(crate) const USER: &str = "pusher";
pub(crate) const PASSWORD: &str = "correct-horse-battery-staple";
/// bcrypt (cost 4, the least, to keep the test quick) of `PASSWORD`.
const PASSWORD_BCRYPT: &str = "$2b$04$sxtip01yu70Jq5KWyyu6DeIF.bnYrR1ThK69.X.5R3FbiJDe5hck2";

/// Whether the registry asks for a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    Anonymous,
    Htpasswd,
}

/// A running registry, killed and its storage removed on drop.
pub(crate) struct Registry {
    child: Child,
    dir: PathBuf,
    /// `127.0.0.1:PORT`.
    pub(crate) address: String,
}

impl Registry {
    pub(crate) fn start(program: &Path, auth: Auth) -> Registry {
        // Another process may take the port between our probe and the registry's bind:
        // try a few ports.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start(program, auth) {
                Ok(registry) => return registry,
                Err(failure) => failures.push(failure),
            }
        }
        panic!("the registry did not start:\n{}", failures.join("\n---\n"));
    }

    fn try_start(program: &Path, auth: Auth) -> Result<Registry, String> {
        let dir = scratch_dir("registry");
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: info\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: {address}\n  secret: loopback-test-only\n",
            dir.join("storage").display()
        );
        if auth == Auth::Htpasswd {
            let htpasswd = dir.join("htpasswd");
            std::fs::write(&htpasswd, format!("{USER}:{PASSWORD_BCRYPT}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: azcord-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new(program)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
        let mut registry = Registry {
            child,
            dir,
            address,
        };
        // Poll /v2/ until it answers, a bounded number of times.
        for _ in 0..200 {
            if let Ok(Some(status)) = registry.child.try_wait() {
                return Err(format!("exited with {status}:\n{}", registry.log()));
            }
            let expected = if auth == Auth::Htpasswd { 401 } else { 200 };
            if get(&registry.address, "/v2/", "*/*").is_ok_and(|r| r.status == expected) {
                return Ok(registry);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!("did not answer on /v2/:\n{}", registry.log()))
    }

    /// What the registry logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback TCP proxy in front of a registry that counts the blob uploads it sees
/// start (`POST /v2/<name>/blobs/uploads/`). A request is counted before it is
/// forwarded, so once the client has its answer the count includes it.
pub(crate) struct CountingProxy {
    /// `127.0.0.1:PORT`.
    pub(crate) address: String,
    uploads: Arc<AtomicUsize>,
}

impl CountingProxy {
    pub(crate) fn start(upstream: &str) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let uploads = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&uploads);
        let upstream = upstream.to_owned();
        // The accept loop lives as long as the test process.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || forward(client, server, &counter));
            }
        });
        CountingProxy { address, uploads }
    }

    pub(crate) fn uploads(&self) -> usize {
        self.uploads.load(Ordering::SeqCst)
    }
}

fn forward(mut client: TcpStream, mut server: TcpStream, uploads: &AtomicUsize) {
    let (Ok(mut client_reader), Ok(mut server_writer)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let responses = std::thread::spawn(move || {
        let _ = std::io::copy(&mut server, &mut client);
        let _ = client.shutdown(std::net::Shutdown::Write);
    });
    let mut scanner = UploadScanner::default();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match client_reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        uploads.fetch_add(scanner.scan(&buffer[..read]), Ordering::SeqCst);
        if server_writer.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = server_writer.shutdown(std::net::Shutdown::Write);
    let _ = responses.join();
}

/// Finds `POST /v2/…/blobs/uploads/… HTTP/1.x` request lines in a byte stream that
/// arrives in arbitrary pieces.
#[derive(Default)]
struct UploadScanner {
    window: Vec<u8>,
}

impl UploadScanner {
    const START: &'static [u8] = b"POST /v2/";
    const END: &'static [u8] = b" HTTP/1.";

    fn scan(&mut self, bytes: &[u8]) -> usize {
        self.window.extend_from_slice(bytes);
        let mut found = 0;
        let mut from = 0;
        let mut pending = None;
        while let Some(start) = find(&self.window[from..], Self::START) {
            let start = from + start;
            match find(&self.window[start..], Self::END) {
                Some(end) => {
                    let target = &self.window[start..start + end];
                    if find(target, b"/blobs/uploads/").is_some() {
                        found += 1;
                    }
                    from = start + end;
                }
                None => {
                    pending = Some(start);
                    break;
                }
            }
        }
        let keep_from = match pending {
            // A request line is short; a longer "line" was body bytes after all.
            Some(start) if self.window.len() - start < 8 * 1024 => start,
            _ => self
                .window
                .len()
                .saturating_sub(Self::START.len() - 1)
                .max(from),
        };
        self.window.drain(..keep_from);
        found
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A response read over HTTP/1.0.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: String,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "not JSON ({err}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// `GET path` on `address`, HTTP/1.0 so that the server closes when it is done.
pub(crate) fn get(address: &str, path: &str, accept: &str) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\nAccept: {accept}\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = find(&raw, b"\r\n\r\n").ok_or(std::io::ErrorKind::InvalidData)?;
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    Ok(Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap()
}

#[test]
fn the_scanner_counts_upload_starts_split_anywhere() {
    let stream: &[u8] = b"HEAD /v2/azcord/blobs/sha256:aa HTTP/1.1\r\nHost: x\r\n\r\n\
        POST /v2/azcord/blobs/uploads/ HTTP/1.1\r\nHost: x\r\n\r\n\
        PUT /v2/azcord/blobs/uploads/1?digest=sha256:aa HTTP/1.1\r\nContent-Length: 4\r\n\r\n\x00\x01\x02\x03\
        POST /v2/azcord/blobs/uploads/?mount=sha256:bb HTTP/1.1\r\n\r\n\
        POST /v2/azcord/other HTTP/1.1\r\n\r\n";
    for piece in [1, 2, 5, 7, 64, stream.len()] {
        let mut scanner = UploadScanner::default();
        let found: usize = stream.chunks(piece).map(|chunk| scanner.scan(chunk)).sum();
        assert_eq!(found, 2, "in pieces of {piece}");
    }
}
