//! The admin server over loopback.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use azcord_telemetry::{AdminState, METRICS_CONTENT_TYPE, Metrics};

#[tokio::test]
async fn admin_routes_answer_and_shut_down_gracefully() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let metrics = Metrics::new();
    let ready = Arc::new(AtomicBool::new(false));
    let state = AdminState::new(metrics.clone(), {
        let ready = ready.clone();
        move || ready.load(Ordering::SeqCst)
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(azcord_telemetry::serve_admin(listener, state, async {
        let _ = stopped.await;
    }));

    metrics.record_interaction("ping", "ok");
    metrics.observe_ack_latency(Duration::from_millis(12));
    metrics.set_shard_state(0, "connected");

    let cases: [(&str, u16, &str); 3] = [
        ("/healthz", 200, "ok"),
        ("/readyz", 503, "not ready"),
        ("/nope", 404, ""),
    ];
    for (path, status, body) in cases {
        let reply = crate::http::get(&format!("{base}{path}")).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (status, body),
            "{path}"
        );
    }

    ready.store(true, Ordering::SeqCst);
    let reply = crate::http::get(&format!("{base}/readyz")).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "ready"));

    let reply = crate::http::get(&format!("{base}/metrics")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, METRICS_CONTENT_TYPE);
    for expected in [
        r#"interactions_total{command="ping",outcome="ok"} 1"#,
        r#"interaction_ack_latency_seconds_bucket{le="0.025"} 1"#,
        r#"shard_state{shard="0",state="connected"} 1"#,
        "# EOF",
    ] {
        assert!(
            reply.body.contains(expected),
            "missing `{expected}` in\n{}",
            reply.body
        );
    }

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
