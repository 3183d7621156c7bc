use expect_test::{Expect, expect};
use serde_json::json;

use super::*;

/// Definitions shaped like the bot's: `/ping`, `/help`, `/vm` and `/aci` with subcommands.
fn commands() -> Vec<Command> {
    let name = json!({"type": 3, "name": "name", "description": "The VM", "required": true, "autocomplete": true});
    let subcommand = |sub: &str, options: serde_json::Value| json!({"type": 1, "name": sub, "description": format!("{sub} it"), "options": options});
    let definitions = json!([
        {"id": "1", "type": 1, "name": "ping", "description": "Check", "version": "1"},
        {"id": "2", "type": 1, "name": "help", "description": "Help", "version": "1", "options": [
            {"type": 3, "name": "command", "description": "A command", "autocomplete": true}
        ]},
        {"id": "3", "type": 1, "name": "vm", "description": "VMs", "version": "1", "options": [
            subcommand("list", json!([{"type": 3, "name": "resource_group", "description": "Only this group"}])),
            subcommand("status", json!([name])),
            subcommand("start", json!([name])),
            subcommand("stop", json!([name])),
        ]},
        {"id": "4", "type": 1, "name": "aci", "description": "Containers", "version": "1", "options": [
            subcommand("logs", json!([
                {"type": 3, "name": "name", "description": "The group", "required": true, "autocomplete": true},
                {"type": 3, "name": "container", "description": "The container", "autocomplete": true},
                {"type": 4, "name": "tail", "description": "How many lines", "min_value": 1, "max_value": 1000},
                {"type": 3, "name": "format", "description": "How", "choices": [
                    {"name": "plain", "value": "plain"}, {"name": "with times", "value": "timed"}
                ]},
                {"type": 5, "name": "follow", "description": "Keep going"}
            ])),
        ]},
        {"id": "5", "type": 2, "name": "Inspect", "description": "", "version": "1"}
    ]);
    serde_json::from_value(definitions).unwrap()
}

/// The line with `|` marking the cursor (at the end when absent), as Tab sees it.
fn show(line: &str) -> String {
    let cursor = line.find('|').unwrap_or(line.len());
    let line = line.replacen('|', "", 1);
    match complete(&line, cursor, &commands()) {
        Completion::Candidates { start, candidates } => {
            let listed: Vec<String> = candidates
                .iter()
                .map(|candidate| format!("{:?}={:?}", candidate.display, candidate.replacement))
                .collect();
            format!("at {start}: {}", listed.join(" "))
        }
        Completion::Autocomplete(request) => format!(
            "at {}: ask the bot for {} in {}",
            request.start,
            request.focused,
            serde_json::to_string(&request.data.options).unwrap()
        ),
    }
}

#[test]
fn tab_offers_what_the_definitions_allow() {
    let table: &[(&str, Expect)] = &[
        (
            "",
            expect![[r#"at 0: "/ping"="/ping " "/help"="/help " "/vm"="/vm " "/aci"="/aci ""#]],
        ),
        (
            "/",
            expect![[r#"at 0: "/ping"="/ping " "/help"="/help " "/vm"="/vm " "/aci"="/aci ""#]],
        ),
        ("/v", expect![[r#"at 0: "/vm"="/vm ""#]]),
        ("/x", expect!["at 0: "]),
        ("vm", expect!["at 0: "]),
        (
            "/vm ",
            expect![[r#"at 4: "list"="list " "status"="status " "start"="start " "stop"="stop ""#]],
        ),
        (
            "/vm st",
            expect![[r#"at 4: "status"="status " "start"="start " "stop"="stop ""#]],
        ),
        (
            "/vm st|art",
            expect![[r#"at 4: "status"="status " "start"="start " "stop"="stop ""#]],
        ),
        ("/vm nope ", expect!["at 9: "]),
        (
            "/vm list ",
            expect![[r#"at 9: "resource_group:"="resource_group:""#]],
        ),
        (
            "/vm list res",
            expect![[r#"at 9: "resource_group:"="resource_group:""#]],
        ),
        ("/vm list resource_group:x ", expect!["at 26: "]),
        ("/vm list resource_group:", expect!["at 24: "]),
        (
            "/aci logs ",
            expect![[
                r#"at 10: "name:"="name:" "container:"="container:" "tail:"="tail:" "format:"="format:" "follow:"="follow:""#
            ]],
        ),
        (
            "/aci logs name:jobs tail:5 ",
            expect![[
                r#"at 27: "container:"="container:" "format:"="format:" "follow:"="follow:""#
            ]],
        ),
        (
            "/aci logs format:",
            expect![[r#"at 17: "plain"="plain " "timed (with times)"="timed ""#]],
        ),
        (
            "/aci logs format:W",
            expect![[r#"at 17: "timed (with times)"="timed ""#]],
        ),
        ("/aci logs follow:t", expect![[r#"at 17: "true"="true ""#]]),
        ("/aci logs tail:", expect!["at 15: "]),
        ("/ping ", expect!["at 6: "]),
    ];
    for (line, expected) in table {
        expected.assert_eq(&show(line));
    }
}

#[test]
fn values_the_bot_autocompletes_become_an_autocomplete_interaction() {
    let table: &[(&str, Expect)] = &[
        (
            "/vm start name:",
            expect![[
                r#"at 15: ask the bot for name in [{"name":"start","type":1,"options":[{"focused":true,"name":"name","type":3,"value":""}]}]"#
            ]],
        ),
        (
            "/vm start name:we",
            expect![[
                r#"at 15: ask the bot for name in [{"name":"start","type":1,"options":[{"focused":true,"name":"name","type":3,"value":"we"}]}]"#
            ]],
        ),
        (
            "/vm start name: we",
            expect![[
                r#"at 16: ask the bot for name in [{"name":"start","type":1,"options":[{"focused":true,"name":"name","type":3,"value":"we"}]}]"#
            ]],
        ),
        (
            "/vm start name:\"we",
            expect![[
                r#"at 15: ask the bot for name in [{"name":"start","type":1,"options":[{"focused":true,"name":"name","type":3,"value":"we"}]}]"#
            ]],
        ),
        (
            "/aci logs name:jobs tail:x container:ng",
            expect![[
                r#"at 37: ask the bot for container in [{"name":"logs","type":1,"options":[{"name":"name","type":3,"value":"jobs"},{"focused":true,"name":"container","type":3,"value":"ng"}]}]"#
            ]],
        ),
        (
            "/help command:p",
            expect![[
                r#"at 14: ask the bot for command in [{"focused":true,"name":"command","type":3,"value":"p"}]"#
            ]],
        ),
    ];
    for (line, expected) in table {
        expected.assert_eq(&show(line));
    }
}

#[test]
fn the_bots_choices_insert_their_values() {
    let choices: Vec<CommandOptionChoice> = serde_json::from_value(json!([
        {"name": "web-1 · staging · stopped", "value": "staging/web-1"},
        {"name": "a note", "value": "two words"},
        {"name": "ten", "value": 10}
    ]))
    .unwrap();
    expect![[r#"
        [
            Candidate {
                replacement: "staging/web-1 ",
                display: "web-1 · staging · stopped",
            },
            Candidate {
                replacement: "\"two words\" ",
                display: "a note",
            },
            Candidate {
                replacement: "10 ",
                display: "ten",
            },
        ]
    "#]]
    .assert_debug_eq(&autocomplete_candidates(&choices));
}

#[test]
fn the_hint_line_says_what_is_missing() {
    let table: &[(&str, Expect)] = &[
        ("", expect!["None"]),
        ("/v", expect!["None"]),
        (
            "/vm",
            expect![[r#"Some("/vm: list · status · start · stop")"#]],
        ),
        (
            "/vm st",
            expect![[r#"Some("/vm: list · status · start · stop")"#]],
        ),
        (
            "/vm start",
            expect![[r#"Some("/vm start: needs name:<text>")"#]],
        ),
        (
            "/vm start name:w",
            expect![[r#"Some("name:<text>  The VM")"#]],
        ),
        ("/vm start name:web-1 ", expect!["None"]),
        (
            "/vm list ",
            expect![[r#"Some("/vm list: optional resource_group:<text>")"#]],
        ),
        (
            "/aci logs name:jobs ",
            expect![[
                r#"Some("/aci logs: optional container:<text> tail:<1-1000> format:<plain|timed> follow:<true|false>")"#
            ]],
        ),
        (
            "/aci logs tail:",
            expect![[r#"Some("tail:<1-1000>  How many lines")"#]],
        ),
        (
            "/aci logs tail:3 ",
            expect![[
                r#"Some("/aci logs: needs name:<text> · optional container:<text> format:<plain|timed> follow:<true|false>")"#
            ]],
        ),
        ("/ping", expect!["None"]),
    ];
    for (line, expected) in table {
        expected.assert_eq(&format!("{:?}", hint(line, &commands())));
    }
}
