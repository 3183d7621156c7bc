//! TLS for the simulators: a test certificate authority generated at start-up, a
//! server certificate it signs for `127.0.0.1` and `localhost`, and an axum listener
//! that serves over it.
//!
//! Clients trust the simulator the way operators trust a private CA: through
//! `SSL_CERT_FILE`, which [`TestCa::write_pem`] gives a file to point at.

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};

/// A certificate authority made for one simulator run, and the server configuration of
/// a certificate it issued for loopback.
#[derive(Clone)]
pub struct TestCa {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
    server: Arc<ServerConfig>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// Generates the authority and the server certificate (ECDSA P-256), for
    /// `127.0.0.1`, `::1` and `localhost`.
    ///
    /// # Errors
    ///
    /// If a key or a certificate cannot be generated.
    pub fn generate(name: &str) -> io::Result<Self> {
        let other = |error: rcgen::Error| io::Error::other(error.to_string());
        let ca_key = KeyPair::generate().map_err(other)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = ca_params.self_signed(&ca_key).map_err(other)?.pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(other)?;
        let mut server_params =
            CertificateParams::new(vec!["localhost".to_owned()]).map_err(other)?;
        server_params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        server_params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
        server_params
            .distinguished_name
            .push(DnType::CommonName, name.to_owned());
        let server_certificate = server_params
            .signed_by(&server_key, &issuer)
            .map_err(other)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_pem = server_certificate.pem();
        let server_key_pem = server_key.serialize_pem();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![server_certificate.der().clone()];
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(io::Error::other)?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            ca_pem,
            server_pem,
            server_key_pem,
            server: Arc::new(server),
        })
    }

    /// The authority's certificate, PEM-encoded: what a client must trust.
    pub fn pem(&self) -> &str {
        &self.ca_pem
    }

    /// Writes [`TestCa::pem`] to `path`, for `SSL_CERT_FILE`.
    ///
    /// # Errors
    ///
    /// If the file cannot be written.
    pub fn write_pem(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, &self.ca_pem)
    }

    /// Writes the loopback server's certificate and its private key, PEM-encoded, to
    /// `certificate` and `key`: for a server that is not azcord's own, such as
    /// `redis-server`.
    ///
    /// # Errors
    ///
    /// If a file cannot be written.
    pub fn write_server_pem(&self, certificate: &Path, key: &Path) -> io::Result<()> {
        std::fs::write(certificate, &self.server_pem)?;
        std::fs::write(key, &self.server_key_pem)
    }

    /// Accepts TLS connections on `listener`; each handshake runs on its own task, so a
    /// client that never finishes one (or refuses the certificate) holds up no other.
    pub fn listener(&self, listener: TcpListener) -> io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(self.server.clone());
        let (sender, receiver) = mpsc::channel(64);
        tokio::spawn(accept_loop(listener, acceptor, sender));
        Ok(TlsListener {
            local_addr,
            receiver,
        })
    }
}

/// A file holding a [`TestCa`]'s PEM, removed when dropped.
#[derive(Debug)]
pub(crate) struct CaFile {
    pub(crate) path: PathBuf,
}

impl CaFile {
    /// Writes `ca` to a file in the temporary directory, named after `name` and `addr`.
    pub(crate) fn write(ca: &TestCa, name: &str, addr: SocketAddr) -> io::Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "azcord-{name}-ca-{}-{}.pem",
            std::process::id(),
            addr.port()
        ));
        ca.write_pem(&path)?;
        Ok(Self { path })
    }
}

impl Drop for CaFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// TLS connections, handshake done, for `axum::serve`.
#[derive(Debug)]
pub struct TlsListener {
    local_addr: SocketAddr,
    receiver: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.receiver.recv().await {
            Some(connection) => connection,
            // The accept loop ended: no connection will come again.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        // Stops, releasing the port, once the server has dropped its listener.
        let accepted = tokio::select! {
            () = sender.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::debug!(%error, "accept failed");
                tokio::task::yield_now().await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            match acceptor.accept(stream).await {
                Ok(tls) => {
                    let _ = sender.send((tls, peer)).await;
                }
                // A client that does not trust the test CA ends here, as it should.
                Err(error) => tracing::debug!(%error, "tls handshake failed"),
            }
        });
    }
}
