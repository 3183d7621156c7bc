//! A Redis server that speaks only TLS, as Azure's Redis services do: reached through
//! a `rediss://` URL with the authority that `SSL_CERT_FILE` names, and refused, with a
//! clear error, without it.

use std::time::{Duration, SystemTime};

use azcord_secret::Secret;
use azcord_sim::{redis::RedisServer, tls::TestCa};
use azcord_store::{Backend as _, RedisBackend, RedisConfig, StoreErrorKind};
use azcord_tls::TlsTrust;

#[tokio::test]
async fn a_tls_server_is_reached_with_the_authority_in_ssl_cert_file_only() {
    let ca = TestCa::generate("redis").unwrap();
    let Some(server) = RedisServer::start_tls(&ca) else {
        return;
    };
    assert!(server.url().starts_with("rediss://"), "{}", server.url());
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    ca.write_pem(&bundle).unwrap();
    let config = |tls: TlsTrust| RedisConfig {
        timeout: Duration::from_millis(1500),
        tls,
        ..RedisConfig::new(Secret::new(server.url()))
    };

    // The compiled-in roots do not know the test authority.
    let error = RedisBackend::connect(config(TlsTrust::default()))
        .await
        .err()
        .expect("a server whose authority is not trusted is refused");
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");

    let backend = RedisBackend::connect(config(TlsTrust {
        extra_roots: Some(bundle),
    }))
    .await
    .unwrap();
    let expires = SystemTime::now() + Duration::from_secs(60);
    backend
        .put("operation/tls", b"sealed".to_vec(), expires)
        .await
        .unwrap();
    assert_eq!(
        backend.get("operation/tls").await.unwrap().as_deref(),
        Some(&b"sealed"[..])
    );
}

#[tokio::test]
async fn a_bundle_that_cannot_be_read_is_refused_before_any_connection() {
    let config = RedisConfig {
        tls: TlsTrust {
            extra_roots: Some("/nonexistent/azcord-ca.pem".into()),
        },
        ..RedisConfig::new(Secret::new("rediss://127.0.0.1:1".to_owned()))
    };
    let error = RedisBackend::connect(config).await.err().unwrap();
    assert_eq!(error.kind(), StoreErrorKind::Refused);
    assert!(error.to_string().contains("SSL_CERT_FILE"), "{error}");
}
