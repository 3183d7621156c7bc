use azcord_command::{Outcome, Policy, Registry, testing::run_examples};
use azcord_sim::terminal::parse_command_line;

use crate::{BuildInfo, plugin};

fn build() -> BuildInfo {
    BuildInfo {
        version: "1.2.3".into(),
        git_sha: "abc123".into(),
        build: "42".into(),
    }
}

#[tokio::test]
async fn every_example_runs() {
    let registry = Registry::new([plugin(build())]).unwrap();
    let runs = run_examples(registry, Policy::default(), &[], |line, definitions| {
        parse_command_line(line, definitions).map_err(|error| error.to_string())
    })
    .await;
    let summary: Vec<(String, Outcome, String)> = runs
        .into_iter()
        .map(|run| (run.line, run.outcome, run.content.unwrap_or_default()))
        .collect();
    expect_test::expect![[r#"
        [
            (
                "/ping",
                Success,
                "🏓 pong",
            ),
            (
                "/help",
                Success,
                "Commands you can run here`/help command:<name>` explains one in detail.",
            ),
            (
                "/help command:ping",
                Success,
                "/pingCheck that azcord is up and answering\n\nKind: read (only reads)",
            ),
            (
                "/about",
                Success,
                "azcordRun your Azure resources from Discord.",
            ),
        ]
    "#]]
    .assert_debug_eq(&summary);
}

#[test]
fn help_suggests_matching_commands() {
    let registry = Registry::new([plugin(build())]).unwrap();
    let signatures: Vec<&azcord_command::Signature> =
        registry.signatures().map(|(_, s)| s).collect();
    let names = |partial: &str| -> Vec<String> {
        crate::help::suggest(&signatures, partial)
            .into_iter()
            .map(|choice| choice.name)
            .collect()
    };
    assert_eq!(names("/pi"), ["/ping"]);
    assert_eq!(names("bout"), ["/about"]);
    assert_eq!(names(""), ["/ping", "/help", "/about"]);
}
