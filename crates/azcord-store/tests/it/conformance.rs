//! The behaviour every backend shares, run against each.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use azcord_secret::Secret;
use azcord_store::{
    ConfirmationRecord, OperationRecord, PollRecord, SessionRecord, StoreErrorKind,
};

use crate::harness::{Harness, Place};

/// One call on a backend and what it returned, written as text.
enum Step {
    Put(&'static str, &'static str, When),
    Get(&'static str),
    Take(&'static str),
    Remove(&'static str),
    Scan(&'static str),
    Claim(&'static str, &'static str, When),
}

#[derive(Clone, Copy)]
enum When {
    Past,
    Future,
}

impl When {
    fn time(self) -> SystemTime {
        match self {
            Self::Past => SystemTime::now() - Duration::from_secs(1),
            Self::Future => SystemTime::now() + Duration::from_secs(600),
        }
    }
}

#[tokio::test]
async fn every_backend_follows_the_primitives() {
    use Step::*;
    use When::*;

    let steps: &[(Step, &str)] = &[
        (Get("confirmation/a"), "None"),
        (Put("confirmation/a", "one", Future), "()"),
        (Get("confirmation/a"), "Some(\"one\")"),
        (Put("confirmation/a", "two", Future), "()"),
        (Get("confirmation/a"), "Some(\"two\")"),
        (Take("confirmation/a"), "Some(\"two\")"),
        (Take("confirmation/a"), "None"),
        (Get("confirmation/a"), "None"),
        // A time already past stores nothing, and removes what was there.
        (Put("confirmation/b", "live", Future), "()"),
        (Put("confirmation/b", "gone", Past), "()"),
        (Get("confirmation/b"), "None"),
        (Take("confirmation/b"), "None"),
        (Put("operation/1", "x", Future), "()"),
        (Put("operation/2", "y", Future), "()"),
        (Put("operation/3", "z", Past), "()"),
        (Put("operations", "not one", Future), "()"),
        (
            Scan("operation/"),
            "[(\"operation/1\", \"x\"), (\"operation/2\", \"y\")]",
        ),
        (Remove("operation/1"), "true"),
        (Remove("operation/1"), "false"),
        (Scan("operation/"), "[(\"operation/2\", \"y\")]"),
        (Scan("nothing/"), "[]"),
        // Leases: free, held by another, renewed by the holder, released, taken.
        (Claim("lease/op", "one", Future), "true"),
        (Claim("lease/op", "two", Future), "false"),
        (Claim("lease/op", "one", Future), "true"),
        (Claim("lease/op", "two", Past), "false"),
        (Claim("lease/op", "one", Past), "true"),
        (Claim("lease/op", "two", Future), "true"),
        (Get("lease/op"), "Some(\"two\")"),
    ];

    for harness in Harness::all().await {
        let backend = harness.backend.as_ref();
        for (index, (step, expected)) in steps.iter().enumerate() {
            let text = |value: Option<Vec<u8>>| {
                format!("{:?}", value.map(|bytes| String::from_utf8(bytes).unwrap()))
            };
            let actual = match step {
                Put(key, value, when) => format!(
                    "{:?}",
                    backend
                        .put(key, value.as_bytes().to_vec(), when.time())
                        .await
                        .unwrap()
                ),
                Get(key) => text(backend.get(key).await.unwrap()),
                Take(key) => text(backend.take(key).await.unwrap()),
                Remove(key) => format!("{:?}", backend.remove(key).await.unwrap()),
                Scan(prefix) => {
                    let mut found: Vec<(String, String)> = backend
                        .scan(prefix)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|(key, value)| (key, String::from_utf8(value).unwrap()))
                        .collect();
                    found.sort();
                    format!("{found:?}")
                }
                Claim(key, owner, when) => {
                    format!(
                        "{:?}",
                        backend.claim(key, owner, when.time()).await.unwrap()
                    )
                }
            };
            assert_eq!(actual, *expected, "{}: step {index}", harness.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_take_and_a_claim_succeed_once_among_racing_callers() {
    for harness in Harness::all().await {
        let backend = &harness.backend;
        let future = SystemTime::now() + Duration::from_secs(600);
        backend
            .put("confirmation/race", b"once".to_vec(), future)
            .await
            .unwrap();
        let takes = (0..16).map(|_| {
            let backend = Arc::clone(backend);
            tokio::spawn(async move { backend.take("confirmation/race").await.unwrap() })
        });
        let claims = (0..16).map(|owner| {
            let backend = Arc::clone(backend);
            tokio::spawn(async move {
                backend
                    .claim("lease/race", &format!("owner-{owner}"), future)
                    .await
                    .unwrap()
            })
        });
        let takes: Vec<_> = futures_join(takes).await;
        let claims: Vec<_> = futures_join(claims).await;
        assert_eq!(
            takes.iter().filter(|taken| taken.is_some()).count(),
            1,
            "{}",
            harness.name
        );
        assert_eq!(
            claims.iter().filter(|claimed| **claimed).count(),
            1,
            "{}",
            harness.name
        );
    }
}

#[tokio::test]
async fn records_round_trip_and_tokens_never_rest_in_clear() {
    const TOKEN: &str = "aW50ZXJhY3Rpb246dG9rZW46c2VjcmV0OjQyNDI0MjQy";
    for harness in Harness::all().await {
        let store = &harness.store;
        let now = SystemTime::now();
        let operation = operation(now, TOKEN);
        store.put_operation("op-1", &operation).await.unwrap();
        let confirmation = ConfirmationRecord {
            command: "vm deallocate".into(),
            owner: 7,
            value: serde_json::json!({"resource_group": "prod-web", "name": "web-1"}),
            expires_at: now + Duration::from_secs(60),
        };
        store.put_confirmation("c-1", &confirmation).await.unwrap();
        let session = SessionRecord {
            shard_id: 3,
            shard_total: 4,
            session_id: "session".into(),
            sequence: 42,
            resume_url: "wss://gateway.example/".into(),
        };
        store
            .put_session(&session, now + Duration::from_secs(60))
            .await
            .unwrap();

        let raw = harness.raw_bytes().await;
        assert!(
            !contains(&raw, TOKEN.as_bytes()),
            "{}: the token is stored in clear",
            harness.name
        );
        assert!(
            contains(&raw, b"prod-web"),
            "{}: raw read sees nothing",
            harness.name
        );

        assert_eq!(
            store.operation("op-1").await.unwrap(),
            Some(operation.clone())
        );
        assert_eq!(
            store.operations().await.unwrap(),
            vec![("op-1".to_owned(), operation.clone())]
        );
        assert_eq!(store.session(3).await.unwrap(), Some(session.clone()));
        // Taken once: of two processes starting at once, one resumes it.
        assert_eq!(store.take_session(3).await.unwrap(), Some(session));
        assert_eq!(store.take_session(3).await.unwrap(), None);
        assert_eq!(
            store.confirmation("c-1").await.unwrap(),
            Some(confirmation.clone())
        );
        assert_eq!(
            store.take_confirmation("c-1").await.unwrap(),
            Some(confirmation)
        );
        assert_eq!(store.take_confirmation("c-1").await.unwrap(), None);
        assert!(store.remove_operation("op-1").await.unwrap());
        assert_eq!(store.operations().await.unwrap(), vec![]);

        // A store with another key sees the record but cannot open the token.
        store.put_operation("op-2", &operation).await.unwrap();
        let other = azcord_store::Store::new(
            Arc::clone(&harness.backend),
            azcord_store::StateKey::generate(),
        );
        assert_eq!(
            other.operation("op-2").await.unwrap_err().kind(),
            StoreErrorKind::Corrupt,
            "{}",
            harness.name
        );
    }
}

#[tokio::test]
async fn expired_entries_do_not_accumulate() {
    for harness in Harness::all().await {
        let backend = harness.backend.as_ref();
        let past = SystemTime::now() - Duration::from_secs(1);
        let future = SystemTime::now() + Duration::from_secs(600);
        for round in 0..500 {
            backend
                .put(&format!("confirmation/{round}"), vec![0; 256], past)
                .await
                .unwrap();
            backend
                .claim(&format!("lease/{round}"), "me", past)
                .await
                .unwrap();
        }
        backend
            .put("session/0", b"live".to_vec(), future)
            .await
            .unwrap();
        harness.store.purge_expired().await.unwrap();
        assert_eq!(harness.stored_entries().await, 1, "{}", harness.name);

        // Everything Redis holds expires by itself.
        if let Place::Redis(server) = &harness.place {
            let mut connection = crate::harness::raw_connection(server).await;
            let ttl: i64 = redis::cmd("PTTL")
                .arg("azcord:session/0")
                .query_async(&mut connection)
                .await
                .unwrap();
            assert!(ttl > 0 && ttl <= 600_000, "PTTL {ttl}");
        }
    }
}

#[tokio::test]
async fn only_an_exclusive_store_lets_a_lease_of_a_gone_process_be_taken_at_once() {
    for harness in Harness::all().await {
        let store = &harness.store;
        let until = SystemTime::now() + Duration::from_secs(600);
        assert!(store.claim("operation/1", "gone", until).await.unwrap());
        let exclusive = matches!(harness.place, Place::File { .. });
        assert_eq!(store.exclusive(), exclusive, "{}", harness.name);
        assert_eq!(
            store
                .claim_orphaned("operation/1", "new", until)
                .await
                .unwrap(),
            exclusive,
            "{}",
            harness.name
        );
        // Whoever holds it now keeps it against the other.
        let holder = if exclusive { "new" } else { "gone" };
        let other = if exclusive { "gone" } else { "new" };
        assert!(store.claim("operation/1", holder, until).await.unwrap());
        assert!(!store.claim("operation/1", other, until).await.unwrap());
    }
}

#[tokio::test]
async fn a_second_process_cannot_open_a_file_in_use() {
    let harness = Harness::embedded();
    let Place::File { path, .. } = &harness.place else {
        unreachable!()
    };
    let error = azcord_store::EmbeddedBackend::open(path).err().unwrap();
    assert_eq!(error.kind(), StoreErrorKind::Refused);
}

fn operation(now: SystemTime, token: &str) -> OperationRecord {
    OperationRecord {
        owner: "host-1".into(),
        poll: Some(PollRecord {
            url: "https://management.example/operations/1".into(),
            async_operation: true,
            correlation_id: Some("corr".into()),
        }),
        resource_type: "vm".into(),
        resource_group: "prod-web".into(),
        resource_name: "web-1".into(),
        action: "start".into(),
        invoker: 7,
        application_id: Some(8),
        interaction_token: Some(Secret::new(token)),
        message_id: Some(9),
        channel_id: Some(10),
        guild_id: Some(11),
        started_at: now,
        deadline: now + Duration::from_secs(900),
        token_expires_at: now + Duration::from_secs(900),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await.unwrap());
    }
    results
}
