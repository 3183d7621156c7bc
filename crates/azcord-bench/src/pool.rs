//! `azcord-bench pool`: the rounds of several runs taken together. One run's median
//! p99 moves with the machine more than the gap it measures; the rounds of many runs,
//! pooled, and an interval for the ratio of their medians, say how far it can be
//! trusted.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::median;

/// How many times the rounds are resampled for the interval.
const RESAMPLES: usize = 2000;

/// One round of one contender, as the driver prints it on standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Round {
    azcord: bool,
    p99_ms: f64,
    cpu_us: f64,
}

/// Reads the per-round lines of every file in `files` (what `azcord-bench` printed on
/// standard error; other lines are skipped) and prints the pooled medians of azcord
/// and the floor, and the ratio of the p99s with its 95% bootstrap interval.
pub(crate) fn run(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut rounds = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        rounds.extend(text.lines().filter_map(parse));
    }
    let pooled = Pooled::of(&rounds)?;
    println!(
        "{} rounds of azcord and {} of the floor, from {} files\n",
        pooled.azcord.len(),
        pooled.floor.len(),
        files.len()
    );
    println!("| measure | azcord | floor (bare twilight) | azcord / floor |");
    println!("| --- | ---: | ---: | ---: |");
    let (azcord, floor) = (median(pooled.p99s(true)), median(pooled.p99s(false)));
    println!(
        "| ack latency p99, median of the rounds (ms) | {azcord:.1} | {floor:.1} | {:.2}x |",
        azcord / floor
    );
    let (azcord, floor) = (median(pooled.cpus(true)), median(pooled.cpus(false)));
    println!(
        "| CPU per interaction, median of the rounds (µs) | {azcord:.1} | {floor:.1} | {:.2}x |",
        azcord / floor
    );
    let (low, high) = pooled.p99_ratio_interval();
    println!(
        "\np99 ratio, 95% bootstrap interval ({RESAMPLES} resamples): {low:.2}x to {high:.2}x"
    );
    Ok(())
}

/// A round from one line of the driver's progress: `round N NAME: …/s p50 … ms p99 …
/// ms max … ms cpu … µs …`; `None` for any other line.
fn parse(line: &str) -> Option<Round> {
    let mut words = line.split_whitespace();
    if words.next()? != "round" {
        return None;
    }
    words.next()?.parse::<usize>().ok()?;
    let azcord = match words.next()? {
        "azcord:" => true,
        "floor:" => false,
        _ => return None,
    };
    let rest: Vec<&str> = words.collect();
    let after = |key: &str| -> Option<f64> {
        let at = rest.iter().position(|word| *word == key)?;
        rest.get(at + 1)?.parse().ok()
    };
    Some(Round {
        azcord,
        p99_ms: after("p99")?,
        cpu_us: after("cpu")?,
    })
}

/// The rounds of each contender.
struct Pooled {
    azcord: Vec<Round>,
    floor: Vec<Round>,
}

impl Pooled {
    fn of(rounds: &[Round]) -> anyhow::Result<Self> {
        let (azcord, floor): (Vec<Round>, Vec<Round>) =
            rounds.iter().partition(|round| round.azcord);
        anyhow::ensure!(
            !azcord.is_empty() && !floor.is_empty(),
            "no rounds of both azcord and the floor in the files given"
        );
        Ok(Self { azcord, floor })
    }

    fn side(&self, azcord: bool) -> &[Round] {
        if azcord { &self.azcord } else { &self.floor }
    }

    fn p99s(&self, azcord: bool) -> Vec<f64> {
        self.side(azcord).iter().map(|round| round.p99_ms).collect()
    }

    fn cpus(&self, azcord: bool) -> Vec<f64> {
        self.side(azcord).iter().map(|round| round.cpu_us).collect()
    }

    /// The 2.5th and 97.5th percentiles of the ratio of the median p99s, over
    /// [`RESAMPLES`] resamples of each contender's rounds with replacement; seeded, so
    /// the same files always give the same interval.
    fn p99_ratio_interval(&self) -> (f64, f64) {
        let mut rng = fastrand::Rng::with_seed(1);
        let (azcord, floor) = (self.p99s(true), self.p99s(false));
        let mut resample = |values: &[f64]| {
            median(
                (0..values.len())
                    .map(|_| values[rng.usize(..values.len())])
                    .collect(),
            )
        };
        let mut ratios: Vec<f64> = (0..RESAMPLES)
            .map(|_| resample(&azcord) / resample(&floor))
            .collect();
        ratios.sort_by(f64::total_cmp);
        (
            ratios[RESAMPLES / 40],
            ratios[RESAMPLES - 1 - RESAMPLES / 40],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rounds_the_driver_prints_and_nothing_else() {
        let cases = [
            (
                "round 3     azcord:   14599/s p50   14 ms p99   63 ms max   92 ms cpu   34 µs idle  12032 KiB peak  39660 KiB",
                Some(Round {
                    azcord: true,
                    p99_ms: 63.0,
                    cpu_us: 34.0,
                }),
            ),
            (
                "round 10      floor:   15680/s p50   19 ms p99  108 ms max  130 ms cpu   34 µs idle  11904 KiB peak  55028 KiB",
                Some(Round {
                    azcord: false,
                    p99_ms: 108.0,
                    cpu_us: 34.0,
                }),
            ),
            ("   Compiling azcord v0.0.0 (/work/crates/azcord)", None),
            ("| ack latency p99 (ms) | 75.7 | 74.5 | 1.02x |", None),
            (
                "round 1 serve: 900/s p50 1 ms p99 2 ms max 3 ms cpu 4 µs",
                None,
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(parse(line), expected, "{line}");
        }
    }

    fn rounds(azcord: &[f64], floor: &[f64]) -> Pooled {
        let round = |azcord, p99_ms| Round {
            azcord,
            p99_ms,
            cpu_us: 1.0,
        };
        let all: Vec<Round> = azcord
            .iter()
            .map(|&p99| round(true, p99))
            .chain(floor.iter().map(|&p99| round(false, p99)))
            .collect();
        Pooled::of(&all).unwrap()
    }

    #[test]
    fn the_interval_holds_the_ratio_and_narrows_with_steady_rounds() {
        let spread = rounds(
            &[60.0, 70.0, 80.0, 90.0, 100.0],
            &[50.0, 70.0, 90.0, 110.0, 130.0],
        );
        let (low, high) = spread.p99_ratio_interval();
        assert!(low < 80.0 / 90.0 && 80.0 / 90.0 < high, "{low} to {high}");
        assert_eq!(
            spread.p99_ratio_interval(),
            (low, high),
            "seeded: the same every time"
        );

        let steady = rounds(&[70.0; 5], &[50.0; 5]);
        assert_eq!(steady.p99_ratio_interval(), (1.4, 1.4));
    }

    #[test]
    fn rounds_of_one_contender_alone_are_refused() {
        let error = Pooled::of(&[Round {
            azcord: true,
            p99_ms: 1.0,
            cpu_us: 1.0,
        }])
        .err()
        .unwrap();
        assert!(error.to_string().contains("no rounds of both"), "{error}");
    }
}
