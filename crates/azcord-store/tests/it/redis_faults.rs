//! A Redis server that goes away: calls fail quickly as unavailable, never hang or
//! panic, and the same client recovers once the server is back.

use std::time::{Duration, Instant, SystemTime};

use azcord_store::{RedisBackend, StoreErrorKind};

use crate::harness::{Harness, Place, redis_config};

#[tokio::test]
async fn a_stopped_server_is_unavailable_and_a_restarted_one_recovers() {
    let Some(mut harness) = Harness::redis().await else {
        return;
    };
    let backend = harness.backend.clone();
    let future = SystemTime::now() + Duration::from_secs(600);
    backend
        .put("operation/1", b"x".to_vec(), future)
        .await
        .unwrap();

    let Place::Redis(server) = &mut harness.place else {
        unreachable!()
    };
    server.stop();
    for attempt in 0..3 {
        let started = Instant::now();
        let error = backend
            .put("operation/2", b"y".to_vec(), future)
            .await
            .unwrap_err();
        assert_eq!(
            error.kind(),
            StoreErrorKind::Unavailable,
            "attempt {attempt}: {error}"
        );
        let error = backend.get("operation/1").await.unwrap_err();
        assert_eq!(
            error.kind(),
            StoreErrorKind::Unavailable,
            "attempt {attempt}: {error}"
        );
        // Bounded by the 500 ms call timeout, with room for a slow machine.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    // A new client cannot connect while it is down, and says so.
    let error = RedisBackend::connect(redis_config(server))
        .await
        .err()
        .unwrap();
    assert_eq!(error.kind(), StoreErrorKind::Unavailable);

    server.restart();
    // The connection manager reconnects in the background: poll until it has, within
    // a bound, with every failure meanwhile a quick `unavailable`.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut recovered = None;
    while Instant::now() < deadline {
        match backend.put("operation/3", b"z".to_vec(), future).await {
            Ok(()) => {
                recovered = Some(());
                break;
            }
            Err(error) => assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(recovered.is_some(), "the client never reconnected");
    assert_eq!(
        backend.get("operation/3").await.unwrap(),
        Some(b"z".to_vec())
    );
}
