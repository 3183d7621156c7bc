//! `azcord-bench http`: the HTTP interactions endpoint against the gateway, in one
//! run. Four contenders take turns at each number of concurrent `/ping`s: `azcord
//! run` and its floor (a bare twilight gateway loop), `azcord serve` and its floor (a
//! bare endpoint that checks the signature and answers in the HTTP response). Over
//! HTTP the acknowledgement is the endpoint's HTTP response, as the simulator receives
//! it; over the gateway it is the REST callback.

use super::{Cli, Contender, compare, ensure_built, report};

pub(crate) async fn run(cli: &Cli, sizes: &[usize], rounds: usize) -> anyhow::Result<()> {
    ensure_built(&cli.azcord)?;
    let me = std::env::current_exe()?;
    let contenders = [
        Contender::Azcord(&cli.azcord),
        Contender::Floor(&me),
        Contender::Serve(&cli.azcord),
        Contender::FloorHttp(&me),
    ];
    let mut tables = Vec::new();
    for &size in sizes {
        tables.push((size, compare(&contenders, size, rounds).await?));
    }
    for (size, results) in &tables {
        println!("\n{size} concurrent /ping interactions, {rounds} rounds each, medians\n");
        report(
            &[
                ("run (gateway)", &results[0]),
                ("gateway floor", &results[1]),
                ("serve (HTTP)", &results[2]),
                ("HTTP floor", &results[3]),
            ],
            &[
                ("run / gateway floor", 0, 1),
                ("serve / gateway floor", 2, 1),
                ("serve / HTTP floor", 2, 3),
                ("serve / run", 2, 0),
            ],
        );
    }
    Ok(())
}
