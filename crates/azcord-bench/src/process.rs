//! What the modes that start processes share: a free port, and waiting for a line of
//! a child's standard output.

use std::{
    io::{BufRead as _, BufReader},
    net::{Ipv4Addr, SocketAddr, TcpListener},
    process::Child,
    time::Duration,
};

use anyhow::Context as _;

/// A loopback address with a port that was free a moment ago.
pub(crate) fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?)
}

/// Waits (60 s at most) until `child` writes a line containing `text` to its standard
/// output, which must be piped; a thread then keeps reading it, so that the child
/// never blocks on a full pipe.
pub(crate) async fn wait_for_line(child: &mut Child, text: &'static str) -> anyhow::Result<()> {
    let stdout = child
        .stdout
        .take()
        .context("the child's standard output is not piped")?;
    let (seen, written) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut seen = Some(seen);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(text)
                && let Some(seen) = seen.take()
            {
                let _ = seen.send(());
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(60), written)
        .await
        .with_context(|| format!("no line with {text:?} within 60 s"))?
        .with_context(|| format!("the process ended without writing {text:?}"))
}
