//! What the `/aci` commands show: pure functions from Azure's data to replies.

use std::fmt::Write as _;

use azcord_azure::{ContainerGroupName, ContainerGroupSummary, ContainerName};
use azcord_command::Reply;
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder};
use unicode_width::UnicodeWidthStr as _;

use azcord_resource::{
    Resource,
    render::{AZURE_BLUE, DESCRIPTION_BUDGET, list_table},
};

/// The longest container list shown by name in the list; longer ones show a count.
const CONTAINER_NAMES_WIDTH: usize = 24;

/// The list of container groups as a table in one embed.
pub(crate) fn list(groups: &[ContainerGroupSummary], resource_group: Option<&str>) -> Reply {
    let rows = groups
        .iter()
        .map(|group| {
            vec![
                group.name.clone(),
                group.resource_group.clone(),
                group
                    .state
                    .as_deref()
                    .map_or_else(|| "see /aci status".to_owned(), |known| state(Some(known))),
                containers(group),
                group.ip_address.clone().unwrap_or_default(),
                group.location.clone(),
            ]
        })
        .collect();
    let count = plural(groups.len(), "container group");
    // Azure's list leaves out instance views; `/aci status` has the state.
    let running = groups.iter().any(|group| group.state.is_some()).then(|| {
        groups
            .iter()
            .filter(|group| is_running(group.state.as_deref()))
            .count()
    });
    list_table(
        "container groups",
        resource_group,
        &[
            "NAME",
            "RESOURCE GROUP",
            "STATE",
            "CONTAINERS",
            "IP",
            "LOCATION",
        ],
        rows,
        |scope| match running {
            Some(running) => format!("{count} in {scope} · {running} running"),
            None => format!("{count} in {scope}"),
        },
    )
}

/// One container group's details, with a line per container.
pub(crate) fn status(group: &ContainerGroupSummary) -> Reply {
    let mut description = String::new();
    if let Some(note) = billing_note(group.state.as_deref()) {
        description.push_str(note);
        description.push_str("\n\n");
    }
    if group.containers.is_empty() {
        description.push_str("It has no containers.");
    }
    for (index, container) in group.containers.iter().enumerate() {
        let mut line = format!(
            "{} **{}** · `{}` · {}",
            icon(container.state.as_deref()),
            container.name,
            container.image.replace('`', "'"),
            container
                .state
                .as_deref()
                .map_or_else(|| "unknown".to_owned(), str::to_lowercase)
        );
        if let Some(restarts) = container.restart_count {
            let _ = write!(
                line,
                " · {}",
                plural(usize::try_from(restarts).unwrap_or(0), "restart")
            );
        }
        if description.len() + line.len() > DESCRIPTION_BUDGET {
            let _ = write!(description, "… and {} more", group.containers.len() - index);
            break;
        }
        description.push_str(&line);
        description.push('\n');
    }
    let embed = EmbedBuilder::new()
        .title(&group.name)
        .color(AZURE_BLUE)
        .description(description.trim_end())
        .field(EmbedFieldBuilder::new("State", state(group.state.as_deref())).inline())
        .field(EmbedFieldBuilder::new("OS", group.os_type.as_deref().unwrap_or("?")).inline())
        .field(
            EmbedFieldBuilder::new("IP address", group.ip_address.as_deref().unwrap_or("none"))
                .inline(),
        )
        .field(EmbedFieldBuilder::new("Location", &group.location).inline())
        .field(EmbedFieldBuilder::new("Resource group", &group.resource_group).inline())
        .field(EmbedFieldBuilder::new("Containers", group.containers.len().to_string()).inline());
    Reply::embed(embed.build())
}

/// The end of one container's log in a code block, cut from the top to fit an embed.
pub(crate) fn logs(
    target: &Resource<ContainerGroupName>,
    container: &ContainerName,
    tail: u32,
    log: &str,
) -> Reply {
    let Some(excerpt) = log_excerpt(log, DESCRIPTION_BUDGET) else {
        return Reply::text(format!(
            "The log of **{container}** in `{}/{}` is empty: the container has written nothing yet.",
            target.resource_group, target.name
        ));
    };
    let mut description = String::new();
    if excerpt.omitted_lines > 0 {
        let _ = writeln!(
            description,
            "… {} left out to fit in Discord; lower `tail:` to see fewer",
            plural(excerpt.omitted_lines, "earlier line")
        );
    }
    let _ = write!(description, "```\n{}\n```", excerpt.text);
    let title = format!(
        "{container} · {} in {} · last {}",
        target.name,
        target.resource_group,
        plural(tail as usize, "line")
    );
    Reply::embed(
        EmbedBuilder::new()
            .title(title)
            .description(description)
            .color(AZURE_BLUE)
            .build(),
    )
}

/// The part of a log that fits in a code block of `budget` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogExcerpt {
    /// The last lines of the log, safe to put between triple backticks.
    pub(crate) text: String,
    /// How many lines at the top were left out.
    pub(crate) omitted_lines: usize,
}

/// The last lines of `log` that fit in `budget` UTF-16 code units, with terminal escapes and
/// control characters removed and backtick runs broken up so that they cannot close
/// the code block; `None` when the log has nothing to show.
pub(crate) fn log_excerpt(log: &str, budget: usize) -> Option<LogExcerpt> {
    let cleaned = clean(log);
    let cleaned = cleaned.trim_end();
    if cleaned.trim().is_empty() {
        return None;
    }
    let lines: Vec<&str> = cleaned.split('\n').collect();
    let mut kept = 0;
    let mut used = 0;
    for line in lines.iter().rev() {
        let cost = length(line) + usize::from(kept > 0);
        if used + cost > budget {
            break;
        }
        used += cost;
        kept += 1;
    }
    let omitted_lines = lines.len() - kept;
    if kept == 0 {
        // Even the last line is too long: keep its end, which is the newest output.
        let last = lines[lines.len() - 1];
        let mut used = length("…");
        let mut end: Vec<char> = last
            .chars()
            .rev()
            .take_while(|c| {
                used += c.len_utf16();
                used <= budget
            })
            .collect();
        end.reverse();
        let text = format!("…{}", end.into_iter().collect::<String>());
        return Some(LogExcerpt {
            text,
            omitted_lines: omitted_lines - 1,
        });
    }
    Some(LogExcerpt {
        text: lines[omitted_lines..].join("\n"),
        omitted_lines,
    })
}

/// A state as the list and status show it: an icon and the lowercase word.
fn state(state: Option<&str>) -> String {
    state.map_or_else(
        || "? unknown".to_owned(),
        |state| format!("{} {}", icon(Some(state)), state.to_lowercase()),
    )
}

/// The containers of a group as the list shows them: their names, or how many when
/// the names would make the table too wide.
fn containers(group: &ContainerGroupSummary) -> String {
    let names: Vec<&str> = group
        .containers
        .iter()
        .map(|container| container.name.as_str())
        .collect();
    let joined = names.join(", ");
    if joined.width() <= CONTAINER_NAMES_WIDTH {
        joined
    } else {
        plural(names.len(), "container")
    }
}

/// What a state means for the bill, when it is worth saying.
fn billing_note(state: Option<&str>) -> Option<&'static str> {
    match state.map(str::to_ascii_lowercase).as_deref() {
        Some("stopped") => Some(
            "Stopped: not billed. `/aci start` starts it again with fresh containers; a public IP address may change.",
        ),
        Some("failed") => Some("Failed: `/aci logs` may say why; `/aci restart` tries again."),
        _ => None,
    }
}

fn is_running(state: Option<&str>) -> bool {
    state.is_some_and(|state| state.eq_ignore_ascii_case("running"))
}

/// Container group states (`Running`, `Stopped`, `Pending`, `Succeeded`, `Failed`) and
/// container states (`Running`, `Waiting`, `Terminated`) as an icon.
fn icon(state: Option<&str>) -> &'static str {
    match state.map(str::to_ascii_lowercase).as_deref() {
        Some("running") => "🟢",
        Some("stopped" | "terminated") => "⚪",
        Some(
            "pending" | "waiting" | "starting" | "creating" | "restarting" | "repairing"
            | "updating",
        ) => "🔄",
        Some("succeeded") => "✅",
        Some("failed") => "🔴",
        _ => "❔",
    }
}

/// A text's length as Discord's limits count it, in UTF-16 code units: never less
/// than its number of characters.
fn length(text: &str) -> usize {
    text.encode_utf16().count()
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The log without terminal escapes or control characters other than newlines and
/// tabs, and with no two backticks in a row.
fn clean(log: &str) -> String {
    let mut cleaned = String::with_capacity(log.len());
    let mut chars = log.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI sequences (colours, cursor moves) run to a final byte in `@`..=`~`;
                // other escapes are one character long.
                if chars.next_if_eq(&'[').is_some() {
                    while chars.next().is_some_and(|c| !('@'..='~').contains(&c)) {}
                } else {
                    chars.next();
                }
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' => cleaned.push('\n'),
            '\n' | '\t' => cleaned.push(c),
            '`' if cleaned.ends_with('`') => cleaned.push_str("\u{200b}`"),
            c if c.is_control() => {}
            c => cleaned.push(c),
        }
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_cut_from_the_top_to_fit() {
        let long = "x".repeat(30);
        // (log, budget, expected text, expected omitted lines)
        let table = [
            ("", 20, None),
            (" \n\n \r\n", 20, None),
            ("one\ntwo\nthree\n", 20, Some(("one\ntwo\nthree", 0))),
            ("one\ntwo\nthree", 13, Some(("one\ntwo\nthree", 0))),
            ("one\ntwo\nthree", 12, Some(("two\nthree", 1))),
            ("one\ntwo\nthree", 5, Some(("three", 2))),
            (long.as_str(), 10, Some(("…xxxxxxxxx", 0))),
            ("a\nb\ncccccccccccccccccccc", 10, Some(("…ccccccccc", 2))),
            (
                "```rm -rf```",
                40,
                Some(("`\u{200b}`\u{200b}`rm -rf`\u{200b}`\u{200b}`", 0)),
            ),
            (
                "\u{1b}[31merror\u{1b}[0m: boom\u{7}",
                40,
                Some(("error: boom", 0)),
            ),
            (
                "windows\r\nline\rprogress",
                40,
                Some(("windows\nline\nprogress", 0)),
            ),
            (
                "\tindented\n\nblank above",
                40,
                Some(("\tindented\n\nblank above", 0)),
            ),
        ];
        for (log, budget, expected) in table {
            let excerpt = log_excerpt(log, budget);
            assert_eq!(
                excerpt
                    .as_ref()
                    .map(|excerpt| (excerpt.text.as_str(), excerpt.omitted_lines)),
                expected,
                "{log:?} in {budget}"
            );
            if let Some(excerpt) = excerpt {
                assert!(length(&excerpt.text) <= budget, "{log:?} in {budget}");
                assert!(!excerpt.text.contains("``"), "{log:?}");
            }
        }
    }

    #[test]
    fn a_huge_log_still_fits_in_an_embed() {
        let log: String = (1..=1000)
            .map(|n| format!("2025-01-01T00:00:00Z line {n} ```\n"))
            .collect();
        let target = Resource {
            resource_group: azcord_azure::ResourceGroupName::new("prod-web").unwrap(),
            name: azcord_azure::ContainerGroupName::new("frontend").unwrap(),
        };
        let reply = logs(&target, &ContainerName::new("nginx").unwrap(), 1000, &log);
        let description = reply.embeds[0].description.as_deref().unwrap();
        assert!(description.chars().count() <= 4096);
        assert!(
            description.starts_with("… 895 earlier lines left out"),
            "{}",
            &description[..60]
        );
        assert!(description.ends_with("line 1000 `\u{200b}`\u{200b}`\n```"));
        assert_eq!(description.matches("```").count(), 2, "only the fences");
    }
}
