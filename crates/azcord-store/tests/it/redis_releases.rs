//! A lease handed over on Redis is announced to every process sharing the server, so
//! that a running one takes it at once; a subscription lost with the server comes back
//! with it.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use azcord_store::{Backend, RedisBackend, StateKey, Store};
use tokio::sync::watch;

use crate::harness::{Harness, Place, redis_config};

/// Waits (bounded) for the next announcement that `releases` hears.
async fn announced(releases: &mut watch::Receiver<()>, what: &str) {
    tokio::time::timeout(Duration::from_secs(15), releases.changed())
        .await
        .unwrap_or_else(|_| panic!("no announcement: {what}"))
        .unwrap();
}

#[tokio::test]
async fn a_lease_handed_over_is_announced_to_the_other_processes() {
    let Some(mut harness) = Harness::redis().await else {
        return;
    };
    let Place::Redis(server) = &mut harness.place else {
        unreachable!()
    };
    let other: Arc<dyn Backend> =
        Arc::new(RedisBackend::connect(redis_config(server)).await.unwrap());
    let mut releases = other.releases().expect("Redis can announce releases");
    // The first change says the subscription is in place, so nothing after it is missed.
    announced(&mut releases, "subscribed").await;

    let store = &harness.store;
    let later = SystemTime::now() + Duration::from_secs(600);
    assert!(store.claim("operation/1", "first", later).await.unwrap());
    // Not the holder: nothing is released.
    assert!(!store.hand_over("operation/1", "second").await.unwrap());
    assert!(store.hand_over("operation/1", "first").await.unwrap());
    announced(&mut releases, "handed over").await;
    let reader = Store::new(Arc::clone(&other), StateKey::generate());
    assert!(
        reader.claim("operation/1", "second", later).await.unwrap(),
        "the lease is free for the process told"
    );

    // While the server is away, announcements are lost; once the subscription is
    // back, the processes are told to look, in case they missed one.
    server.stop();
    server.restart();
    announced(&mut releases, "subscribed again after the server came back").await;
}

#[tokio::test]
async fn a_store_no_other_process_shares_has_nobody_to_tell() {
    let store = Store::in_memory();
    assert!(store.releases().is_none());
    let later = SystemTime::now() + Duration::from_secs(600);
    assert!(store.claim("operation/1", "first", later).await.unwrap());
    assert!(store.hand_over("operation/1", "first").await.unwrap());
    assert!(store.claim("operation/1", "second", later).await.unwrap());
}
