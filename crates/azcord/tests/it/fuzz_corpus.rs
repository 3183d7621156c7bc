//! The fuzz targets' seed corpus, run on stable: every file of `fuzz/corpus/<target>/`
//! through the same function `cargo +nightly fuzz run <target>` calls.

use std::{
    fs,
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
};

use azcord::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_corpus_file_passes_its_fuzz_target() {
    let mut failures = Vec::new();
    for (target, run) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        let files = names_in(&dir);
        assert!(!files.is_empty(), "{} has no seeds", dir.display());
        for file in files {
            let path = dir.join(&file);
            let data = fs::read(&path).unwrap();
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                failures.push(format!("{target}/{file}"));
            }
        }
    }
    assert!(failures.is_empty(), "failing seeds: {failures:#?}");
}

#[test]
fn every_fuzz_target_has_a_corpus_and_a_binary() {
    let targets: Vec<String> = TARGETS.iter().map(|(name, _)| (*name).to_owned()).collect();
    let mut sorted = targets.clone();
    sorted.sort();
    assert_eq!(names_in(&fuzz_dir().join("corpus")), sorted);
    let binaries: Vec<String> = names_in(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .map(|file| file.trim_end_matches(".rs").to_owned())
        .collect();
    assert_eq!(binaries, sorted);
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for target in &targets {
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "fuzz/Cargo.toml has no [[bin]] {target}"
        );
    }
}
