//! Which certificate authorities azcord's outbound TLS connections trust: the
//! compiled-in web PKI roots (Mozilla's, from webpki-roots), plus the PEM bundle that
//! `SSL_CERT_FILE` names, for a TLS-inspecting proxy's CA or a private endpoint's.
//!
//! Every client that azcord builds itself (Azure Resource Manager and Entra ID through
//! reqwest, the OTLP exporter through hyper-rustls) takes its rustls configuration from
//! [`TlsTrust::client_config`], so there is one answer to "what does azcord trust".
//! The bundle is *added* to the compiled-in roots, unlike OpenSSL's reading of the same
//! variable, which replaces the system bundle: an operator adds a CA without having to
//! copy the public ones.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, pem::PemObject};

/// The environment variable that names the extra PEM bundle.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// What azcord's TLS clients trust besides the compiled-in roots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsTrust {
    /// A PEM bundle whose certificates are trusted as roots too (`SSL_CERT_FILE`).
    pub extra_roots: Option<PathBuf>,
}

/// The extra bundle cannot be used; the message names the file and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("SSL_CERT_FILE `{}` {problem}", path.display())]
pub struct TlsError {
    /// The bundle at fault.
    pub path: PathBuf,
    /// What is wrong with it, as the end of a sentence that starts with its path.
    pub problem: String,
}

impl TlsTrust {
    /// Reads `SSL_CERT_FILE` through `lookup` (`|name| std::env::var(name).ok()` in
    /// production); an empty value counts as unset.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let extra_roots = lookup(SSL_CERT_FILE)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .map(PathBuf::from);
        Self { extra_roots }
    }

    /// [`TlsTrust::from_env`] over the process environment.
    pub fn from_process_env() -> Self {
        Self::from_env(|name| std::env::var(name).ok())
    }

    /// The compiled-in roots plus every certificate of the extra bundle.
    ///
    /// # Errors
    ///
    /// If the bundle cannot be read, holds no certificate, or holds one that is not a
    /// usable root: a bundle that was asked for and silently ignored would fail later,
    /// far from the cause.
    pub fn root_store(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = &self.extra_roots {
            for certificate in read_bundle(path)? {
                roots.add(certificate).map_err(|error| TlsError {
                    path: path.clone(),
                    problem: format!("holds a certificate that is not a usable root: {error}"),
                })?;
            }
        }
        Ok(roots)
    }

    /// A rustls client configuration over [`TlsTrust::root_store`], with the ring
    /// provider that every azcord client uses, and no ALPN (each client sets its own).
    ///
    /// # Errors
    ///
    /// As [`TlsTrust::root_store`].
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let roots = self.root_store()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError {
                path: self.extra_roots.clone().unwrap_or_default(),
                problem: format!("cannot be used: {error}"),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

fn read_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |problem: String| TlsError {
        path: path.to_owned(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|io| error(format!("cannot be read: {io}")))?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|pem| error(format!("is not a PEM bundle: {pem}")))?;
    if certificates.is_empty() {
        return Err(error("holds no PEM certificate".to_owned()));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn ssl_cert_file_is_read_from_the_environment() {
        let table = [
            (None, None),
            (Some(""), None),
            (Some("  "), None),
            (Some("/etc/proxy-ca.pem"), Some("/etc/proxy-ca.pem")),
        ];
        for (value, expected) in table {
            let env: HashMap<&str, &str> = value.map(|v| (SSL_CERT_FILE, v)).into_iter().collect();
            let trust = TlsTrust::from_env(|name| env.get(name).map(|v| (*v).to_owned()));
            assert_eq!(trust.extra_roots, expected.map(PathBuf::from), "{value:?}");
        }
    }

    #[test]
    fn the_bundle_is_added_to_the_compiled_in_roots() {
        let compiled_in = TlsTrust::default().root_store().unwrap().len();
        assert_eq!(compiled_in, webpki_roots::TLS_SERVER_ROOTS.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.pem");
        std::fs::write(&path, format!("{}\n{}", ca_pem(), ca_pem())).unwrap();
        let trust = TlsTrust {
            extra_roots: Some(path),
        };
        assert_eq!(trust.root_store().unwrap().len(), compiled_in + 2);
        trust.client_config().unwrap();
    }

    #[test]
    fn an_unusable_bundle_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let missing = dir.path().join("missing.pem");
        let table = [
            (empty, "holds no PEM certificate"),
            (broken, "is not a PEM bundle"),
            (missing, "cannot be read"),
        ];
        for (path, expected) in table {
            let trust = TlsTrust {
                extra_roots: Some(path.clone()),
            };
            let message = trust.root_store().unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("SSL_CERT_FILE `{}` {expected}", path.display())),
                "{message}"
            );
        }
    }
}
