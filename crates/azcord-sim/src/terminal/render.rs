//! Rendering a bot message (content, embeds, buttons) as terminal text.
//!
//! Layout is computed on plain text measured with `unicode-width`; ANSI styling, when
//! asked for, is applied last so it never skews alignment.

use twilight_model::{
    channel::message::{
        Component, EmojiReactionType, Message, MessageFlags,
        component::{Button, ButtonStyle, SelectMenu, SelectMenuType},
        embed::Embed,
    },
    http::interaction::InteractionResponseData,
};
use unicode_width::UnicodeWidthStr;

/// The parts of a bot message the terminal shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct MessageView<'a> {
    /// The message text, in Discord markdown.
    pub content: Option<&'a str>,
    /// Embeds, each drawn as a box.
    pub embeds: &'a [Embed],
    /// Components: action rows of buttons, select menus and layout components.
    pub components: &'a [Component],
    /// Whether only the invoking user can see the message.
    pub ephemeral: bool,
}

/// How to render: the terminal width and whether to use ANSI styling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// Maximum line width in terminal columns (at least 20 is used).
    pub width: usize,
    /// Whether to add ANSI bold to titles and dim to notes.
    pub color: bool,
}

/// A rendered message: the text to print and the buttons the user can pick by number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Lines joined with `\n`, without a trailing newline.
    pub text: String,
    /// Enabled buttons with a custom id, numbered from 1 as shown in `text`.
    pub choices: Vec<Choice>,
}

/// A button the user can press by typing its number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The number shown as `[number]`.
    pub number: usize,
    /// The button's label as shown.
    pub label: String,
    /// The custom id to send back in the component interaction.
    pub custom_id: String,
}

/// Renders a message as terminal text, with its buttons as numbered choices.
pub fn render_message(message: &MessageView<'_>, options: &RenderOptions) -> Rendered {
    let width = options.width.max(MIN_WIDTH);
    let mut renderer = Renderer {
        color: options.color,
        choices: Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();

    if message.ephemeral {
        out.push(renderer.paint(&Line::new("(only you can see this)", Style::Dim)));
    }
    let content = message.content.unwrap_or_default();
    if content.trim().is_empty() && message.embeds.is_empty() && message.components.is_empty() {
        out.push(renderer.paint(&Line::new("azcord is thinking…", Style::Dim)));
    }
    if !content.trim().is_empty() {
        for row in markdown(content, width) {
            out.push(renderer.paint_row(&row, width));
        }
    }
    for embed in message.embeds {
        let rows = embed_rows(embed, width - BOX_PADDING);
        if !rows.is_empty() {
            out.extend(renderer.draw_box(&rows));
        }
    }
    for component in message.components {
        if let Component::Container(container) = component {
            let rows = renderer.flow(&container.components, width - BOX_PADDING);
            if !rows.is_empty() {
                out.extend(renderer.draw_box(&rows));
            }
        } else {
            for row in renderer.flow(std::slice::from_ref(component), width) {
                out.push(renderer.paint_row(&row, width));
            }
        }
    }

    Rendered {
        text: out.join("\n"),
        choices: renderer.choices,
    }
}

impl<'a> MessageView<'a> {
    /// Views the data of an interaction response, as the bot sends it.
    pub fn from_response_data(data: &'a InteractionResponseData) -> Self {
        Self {
            content: data.content.as_deref(),
            embeds: data.embeds.as_deref().unwrap_or_default(),
            components: data.components.as_deref().unwrap_or_default(),
            ephemeral: data
                .flags
                .is_some_and(|flags| flags.contains(MessageFlags::EPHEMERAL)),
        }
    }

    /// Views a message as Discord stores it, for example after a followup or an edit.
    pub fn from_message(message: &'a Message) -> Self {
        Self {
            content: Some(&message.content),
            embeds: &message.embeds,
            components: &message.components,
            ephemeral: message
                .flags
                .is_some_and(|flags| flags.contains(MessageFlags::EPHEMERAL)),
        }
    }
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            width: 80,
            color: false,
        }
    }
}

/// Narrower than this, boxes and tables stop making sense.
const MIN_WIDTH: usize = 20;
/// `│ ` and ` │` around a box's contents.
const BOX_PADDING: usize = 4;
/// Spaces between table columns.
const COLUMN_GAP: &str = "  ";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Bold,
    Dim,
}

/// One physical line of plain text; styling is applied when painting.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Line {
    text: String,
    style: Style,
}

/// A line, or a horizontal divider spanning the available width.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Row {
    Text(Line),
    Rule,
}

struct Renderer {
    color: bool,
    choices: Vec<Choice>,
}

impl Line {
    fn new(text: impl Into<String>, style: Style) -> Self {
        Self {
            text: text.into(),
            style,
        }
    }

    fn plain(text: impl Into<String>) -> Self {
        Self::new(text, Style::Plain)
    }
}

impl Renderer {
    fn paint(&self, line: &Line) -> String {
        let code = match line.style {
            Style::Bold if self.color => "\x1b[1m",
            Style::Dim if self.color => "\x1b[2m",
            _ => return line.text.clone(),
        };
        format!("{code}{}\x1b[0m", line.text)
    }

    fn paint_row(&self, row: &Row, width: usize) -> String {
        match row {
            Row::Text(line) => self.paint(line),
            Row::Rule => "─".repeat(width),
        }
    }

    /// Draws rows inside a box just wide enough for the widest one.
    fn draw_box(&self, rows: &[Row]) -> Vec<String> {
        let inner = rows
            .iter()
            .map(|row| match row {
                Row::Text(line) => line.text.width(),
                Row::Rule => 0,
            })
            .max()
            .unwrap_or_default()
            .max(1);
        let horizontal = "─".repeat(inner + 2);
        let mut out = Vec::with_capacity(rows.len() + 2);
        out.push(format!("╭{horizontal}╮"));
        for row in rows {
            out.push(match row {
                Row::Text(line) => {
                    let padding = " ".repeat(inner.saturating_sub(line.text.width()));
                    format!("│ {}{padding} │", self.paint(line))
                }
                Row::Rule => format!("├{horizontal}┤"),
            });
        }
        out.push(format!("╰{horizontal}╯"));
        out
    }

    /// Lays out components top to bottom; buttons get numbers as they are met.
    fn flow(&mut self, components: &[Component], width: usize) -> Vec<Row> {
        let mut rows = Vec::new();
        for component in components {
            match component {
                Component::ActionRow(action_row) => {
                    let mut items = Vec::new();
                    for child in &action_row.components {
                        match child {
                            Component::Button(button) => items.extend(self.button(button)),
                            Component::SelectMenu(menu) => {
                                rows.extend(wrap_line(&Line::plain(select_menu(menu)), width));
                            }
                            _ => {}
                        }
                    }
                    rows.extend(join_items(&items, width));
                }
                Component::Button(button) => {
                    let items: Vec<String> = self.button(button).into_iter().collect();
                    rows.extend(join_items(&items, width));
                }
                Component::SelectMenu(menu) => {
                    rows.extend(wrap_line(&Line::plain(select_menu(menu)), width));
                }
                // Containers do not nest in Discord; flatten one found inside another.
                Component::Container(container) => {
                    rows.extend(self.flow(&container.components, width));
                }
                Component::Section(section) => {
                    rows.extend(self.flow(&section.components, width));
                    rows.extend(self.flow(std::slice::from_ref(&section.accessory), width));
                }
                Component::TextDisplay(text) => rows.extend(markdown(&text.content, width)),
                Component::Separator(separator) => rows.push(match separator.divider {
                    Some(false) => Row::Text(Line::plain("")),
                    _ => Row::Rule,
                }),
                Component::MediaGallery(gallery) => {
                    for item in &gallery.items {
                        let line = Line::plain(format!("[image] {}", item.media.url));
                        rows.extend(wrap_line(&line, width));
                    }
                }
                Component::Thumbnail(thumbnail) => {
                    let line = Line::plain(format!("[image] {}", thumbnail.media.url));
                    rows.extend(wrap_line(&line, width));
                }
                Component::File(file) => {
                    let line = Line::plain(format!("[file] {}", file.file.url));
                    rows.extend(wrap_line(&line, width));
                }
                // Modal-only components and unknown ones have nothing to show in a message.
                _ => {}
            }
        }
        rows
    }

    /// A button's text, registering it as a choice when it can be pressed.
    fn button(&mut self, button: &Button) -> Option<String> {
        let label = button_label(button);
        if button.style == ButtonStyle::Link {
            let url = button.url.as_deref().unwrap_or_default();
            return Some(format!("[link] {label} ({url})"));
        }
        if button.style == ButtonStyle::Premium {
            return None;
        }
        match (&button.custom_id, button.disabled) {
            (Some(custom_id), false) => {
                let number = self.choices.len() + 1;
                self.choices.push(Choice {
                    number,
                    label: label.clone(),
                    custom_id: custom_id.clone(),
                });
                Some(format!("[{number}] {label}"))
            }
            _ => Some(format!("[-] {label} (disabled)")),
        }
    }
}

fn button_label(button: &Button) -> String {
    if let Some(label) = button.label.as_deref().filter(|l| !l.trim().is_empty()) {
        return label.to_owned();
    }
    match &button.emoji {
        Some(EmojiReactionType::Unicode { name }) => name.clone(),
        Some(EmojiReactionType::Custom {
            name: Some(name), ..
        }) => format!(":{name}:"),
        _ => button.custom_id.clone().unwrap_or_default(),
    }
}

fn select_menu(menu: &SelectMenu) -> String {
    let what = match menu.kind {
        SelectMenuType::User => "pick a user",
        SelectMenuType::Role => "pick a role",
        SelectMenuType::Mentionable => "pick a user or role",
        SelectMenuType::Channel => "pick a channel",
        _ => "pick one",
    };
    let title = menu.placeholder.as_deref().unwrap_or(what);
    let choices = menu
        .options
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|option| option.label.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let disabled = if menu.disabled { " (disabled)" } else { "" };
    if choices.is_empty() {
        format!("[select] {title}{disabled}")
    } else {
        format!("[select] {title}: {choices}{disabled}")
    }
}

/// Joins items with a gap, starting a new line when the next would not fit.
fn join_items(items: &[String], width: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut current = String::new();
    for item in items {
        if !current.is_empty() && current.width() + COLUMN_GAP.len() + item.width() > width {
            rows.extend(wrap_line(&Line::plain(std::mem::take(&mut current)), width));
        }
        if !current.is_empty() {
            current.push_str(COLUMN_GAP);
        }
        current.push_str(item);
    }
    if !current.is_empty() {
        rows.extend(wrap_line(&Line::plain(current), width));
    }
    rows
}

/// The rows inside an embed's box: header, body and footer separated by dividers.
fn embed_rows(embed: &Embed, width: usize) -> Vec<Row> {
    let mut head: Vec<Row> = Vec::new();
    if let Some(author) = &embed.author {
        head.extend(wrap_line(
            &Line::plain(inline_markdown(&author.name)),
            width,
        ));
    }
    if let Some(title) = embed.title.as_deref().filter(|t| !t.trim().is_empty()) {
        head.extend(wrap_line(
            &Line::new(inline_markdown(title), Style::Bold),
            width,
        ));
    }
    if let Some(url) = &embed.url {
        head.extend(wrap_line(&Line::plain(url.as_str()), width));
    }

    let mut body: Vec<Vec<Row>> = Vec::new();
    if let Some(description) = embed
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        body.push(markdown(description, width));
    }
    let mut fields = embed.fields.iter().peekable();
    while let Some(field) = fields.next() {
        if field.inline {
            let mut run = vec![field];
            while let Some(next) = fields.next_if(|next| next.inline) {
                run.push(next);
            }
            body.push(inline_fields(&run, width));
        } else {
            // Consecutive `name: value` lines read best without blank lines between them.
            let mut rows = field_lines(&field.name, &field.value, width);
            while let Some(next) = fields.next_if(|next| !next.inline) {
                rows.extend(field_lines(&next.name, &next.value, width));
            }
            body.push(rows);
        }
    }
    let mut media = Vec::new();
    if let Some(image) = &embed.image {
        media.extend(wrap_line(
            &Line::plain(format!("[image] {}", image.url)),
            width,
        ));
    }
    if let Some(thumbnail) = &embed.thumbnail {
        media.extend(wrap_line(
            &Line::plain(format!("[thumbnail] {}", thumbnail.url)),
            width,
        ));
    }
    if !media.is_empty() {
        body.push(media);
    }

    let footer_text = [
        embed
            .footer
            .as_ref()
            .map(|footer| inline_markdown(&footer.text)),
        embed.timestamp.map(|timestamp| {
            let iso = timestamp.iso_8601().to_string();
            format!("{} UTC", iso.get(..16).unwrap_or(&iso).replace('T', " "))
        }),
    ]
    .into_iter()
    .flatten()
    .filter(|text| !text.trim().is_empty())
    .collect::<Vec<_>>()
    .join(" • ");
    let footer = if footer_text.is_empty() {
        Vec::new()
    } else {
        wrap_line(&Line::new(footer_text, Style::Dim), width)
    };

    let mut body_rows: Vec<Row> = Vec::new();
    for (index, section) in body.into_iter().filter(|s| !s.is_empty()).enumerate() {
        if index > 0 {
            body_rows.push(Row::Text(Line::plain("")));
        }
        body_rows.extend(section);
    }
    let mut rows: Vec<Row> = Vec::new();
    for section in [head, body_rows, footer] {
        if section.is_empty() {
            continue;
        }
        if !rows.is_empty() {
            rows.push(Row::Rule);
        }
        rows.extend(section);
    }
    rows
}

/// `name: value`, with further lines of the value indented under the name.
fn field_lines(name: &str, value: &str, width: usize) -> Vec<Row> {
    let name = inline_markdown(clean_blank(name));
    let value = clean_blank(value);
    let mut logical = value.lines().map(|line| format!("  {line}"));
    let first = logical.next().unwrap_or_default();
    let first = first.trim_start();
    let head = match (name.is_empty(), first.is_empty()) {
        (true, _) => first.to_owned(),
        (false, true) => format!("{name}:"),
        (false, false) => format!("{name}: {first}"),
    };
    let mut text = head;
    for line in logical {
        text.push('\n');
        text.push_str(&line);
    }
    markdown(&text, width)
}

/// Consecutive inline fields as a table: field names as the header, value lines as rows.
fn inline_fields(
    fields: &[&twilight_model::channel::message::embed::EmbedField],
    width: usize,
) -> Vec<Row> {
    let columns: Vec<Column> = fields
        .iter()
        .map(|field| {
            let header = inline_markdown(clean_blank(&field.name));
            let cells: Vec<String> = clean_blank(&field.value)
                .lines()
                .map(inline_markdown)
                .collect();
            let width = cells
                .iter()
                .map(|cell| cell.width())
                .chain([header.width()])
                .max()
                .unwrap_or_default();
            Column {
                header,
                cells,
                width,
                source: field,
            }
        })
        .collect();

    let mut rows = Vec::new();
    let mut chunk: Vec<&Column> = Vec::new();
    let mut chunk_width = 0;
    for column in &columns {
        if column.width > width {
            // Too wide for any table: fall back to `name: value` so nothing is cut.
            rows.extend(table(&chunk));
            chunk.clear();
            chunk_width = 0;
            rows.extend(field_lines(
                &column.source.name,
                &column.source.value,
                width,
            ));
            continue;
        }
        let needed = if chunk.is_empty() {
            column.width
        } else {
            chunk_width + COLUMN_GAP.len() + column.width
        };
        if needed > width {
            rows.extend(table(&chunk));
            rows.push(Row::Text(Line::plain("")));
            chunk.clear();
            chunk_width = column.width;
        } else {
            chunk_width = needed;
        }
        chunk.push(column);
    }
    rows.extend(table(&chunk));
    rows
}

struct Column<'a> {
    header: String,
    cells: Vec<String>,
    width: usize,
    source: &'a twilight_model::channel::message::embed::EmbedField,
}

fn table(columns: &[&Column<'_>]) -> Vec<Row> {
    if columns.is_empty() {
        return Vec::new();
    }
    let mut rows = Vec::new();
    let cell = |text: &str, column: &Column<'_>| {
        format!(
            "{text}{}",
            " ".repeat(column.width.saturating_sub(text.width()))
        )
    };
    let join = |cells: Vec<String>| cells.join(COLUMN_GAP).trim_end().to_owned();
    if columns.iter().any(|column| !column.header.is_empty()) {
        let header = columns.iter().map(|c| cell(&c.header, c)).collect();
        rows.push(Row::Text(Line::new(join(header), Style::Bold)));
        let rule = columns.iter().map(|c| "─".repeat(c.width)).collect();
        rows.push(Row::Text(Line::plain(join(rule))));
    }
    let height = columns
        .iter()
        .map(|c| c.cells.len())
        .max()
        .unwrap_or_default();
    for index in 0..height {
        let cells = columns
            .iter()
            .map(|c| cell(c.cells.get(index).map_or("", String::as_str), c))
            .collect();
        rows.push(Row::Text(Line::plain(join(cells))));
    }
    rows
}

/// Bots write `\u{200b}` (zero-width space) to leave an embed field name or value blank.
fn clean_blank(text: &str) -> &str {
    text.trim_matches(|c: char| c == '\u{200b}' || c.is_whitespace())
}

/// Renders Discord markdown lightly: code blocks indented, headings bold, emphasis dropped.
fn markdown(text: &str, width: usize) -> Vec<Row> {
    let text = text.replace('\t', "    ");
    let mut rows = Vec::new();
    let mut in_code_block = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if in_code_block {
            match line.strip_suffix("```") {
                Some(code) => {
                    in_code_block = false;
                    if !code.trim().is_empty() {
                        rows.extend(code_line(code, width));
                    }
                }
                None => rows.extend(code_line(line, width)),
            }
            continue;
        }
        if let Some(after_fence) = trimmed.strip_prefix("```") {
            // ```one-liner``` alone on a line is a complete code block.
            if let Some(code) = after_fence.strip_suffix("```") {
                rows.extend(code_line(code, width));
                continue;
            }
            // Fences with text after the closing one are inline code; keep the line as text.
            if !after_fence.contains("```") {
                in_code_block = true;
                // After the opening fence comes the language name, or code if it has a space.
                if after_fence.contains(' ') {
                    rows.extend(code_line(after_fence, width));
                }
                continue;
            }
        }
        let (text, style) = match heading(trimmed) {
            Some((style, rest)) => (inline_markdown(rest), style),
            None => (inline_markdown(line), Style::Plain),
        };
        rows.extend(wrap_line(&Line::new(text, style), width));
    }
    rows
}

fn heading(line: &str) -> Option<(Style, &str)> {
    if let Some(rest) = line.strip_prefix("-# ") {
        return Some((Style::Dim, rest));
    }
    ["### ", "## ", "# "]
        .iter()
        .find_map(|marker| line.strip_prefix(marker))
        .map(|rest| (Style::Bold, rest))
}

/// Drops emphasis markers, keeps `code` spans as typed, and spells out masked links.
fn inline_markdown(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        let rest = &chars[index..];
        if c == '\\'
            && rest
                .get(1)
                .is_some_and(|next| "\\*_~`|[]()<>#-".contains(*next))
        {
            out.push(rest[1]);
            index += 2;
            continue;
        }
        if c == '`'
            && let Some(end) = find(&chars, index + 1, &['`'])
        {
            out.extend(&chars[index..=end]);
            index = end + 1;
            continue;
        }
        if let Some(marker) = [&['*', '*'][..], &['_', '_'], &['~', '~'], &['|', '|']]
            .into_iter()
            .find(|marker| rest.starts_with(marker))
            && let Some(end) = find(&chars, index + 2, marker).filter(|end| *end > index + 2)
        {
            out.push_str(&inline_markdown(
                &chars[index + 2..end].iter().collect::<String>(),
            ));
            index = end + 2;
            continue;
        }
        if (c == '*' || c == '_')
            && let Some(end) = emphasis_end(&chars, index)
        {
            out.push_str(&inline_markdown(
                &chars[index + 1..end].iter().collect::<String>(),
            ));
            index = end + 1;
            continue;
        }
        if c == '['
            && let Some(close) = find(&chars, index + 1, &[']', '('])
            && let Some(end) = find(&chars, close + 2, &[')'])
        {
            let label = inline_markdown(&chars[index + 1..close].iter().collect::<String>());
            let url: String = chars[close + 2..end].iter().collect();
            if label == url {
                out.push_str(&url);
            } else {
                out.push_str(&format!("{label} ({url})"));
            }
            index = end + 1;
            continue;
        }
        out.push(c);
        index += 1;
    }
    out
}

/// Where the single `*` or `_` at `start` is closed, following Discord's word-boundary rules.
fn emphasis_end(chars: &[char], start: usize) -> Option<usize> {
    let marker = chars[start];
    let opens = chars
        .get(start + 1)
        .is_some_and(|next| !next.is_whitespace() && *next != marker);
    let preceded_by_word = start > 0 && chars[start - 1].is_alphanumeric();
    if !opens || (marker == '_' && preceded_by_word) {
        return None;
    }
    (start + 2..chars.len()).find(|&end| {
        chars[end] == marker
            && !chars[end - 1].is_whitespace()
            && (marker != '_' || !chars.get(end + 1).is_some_and(|c| c.is_alphanumeric()))
    })
}

/// The index where `pattern` next starts at or after `from`.
fn find(chars: &[char], from: usize, pattern: &[char]) -> Option<usize> {
    (from..chars.len()).find(|&index| chars[index..].starts_with(pattern))
}

/// Word-wraps one logical line; continuation lines keep its indentation.
fn wrap_line(line: &Line, width: usize) -> Vec<Row> {
    if line.text.width() <= width {
        return vec![Row::Text(line.clone())];
    }
    let body = line.text.trim_start();
    let indent = &line.text[..line.text.len() - body.len()];
    let indent = if indent.width() * 2 > width {
        ""
    } else {
        indent
    };
    let mut lines: Vec<String> = Vec::new();
    let mut current = indent.to_owned();
    for word in body.split_whitespace() {
        let at_start = current.width() == indent.width();
        let needed = current.width() + usize::from(!at_start) + word.width();
        if needed <= width {
            if !at_start {
                current.push(' ');
            }
            current.push_str(word);
            continue;
        }
        if !at_start {
            lines.push(std::mem::replace(&mut current, indent.to_owned()));
        }
        if indent.width() + word.width() <= width {
            current.push_str(word);
        } else {
            // A word longer than a whole line is split wherever the width runs out.
            let mut pieces = split_at_width(word, width - indent.width()).into_iter();
            current.push_str(&pieces.next().unwrap_or_default());
            for piece in pieces {
                lines.push(std::mem::replace(&mut current, format!("{indent}{piece}")));
            }
        }
    }
    lines.push(current);
    lines
        .into_iter()
        .map(|text| Row::Text(Line::new(text, line.style)))
        .collect()
}

/// Indents a line of a code block, wrapping by width alone so nothing is reflowed.
fn code_line(code: &str, width: usize) -> Vec<Row> {
    const INDENT: &str = "    ";
    split_at_width(code, width - INDENT.len())
        .into_iter()
        .map(|piece| Row::Text(Line::plain(format!("{INDENT}{piece}"))))
        .collect()
}

fn split_at_width(text: &str, width: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut current_width = 0;
    for c in text.chars() {
        let char_width = unicode_width::UnicodeWidthChar::width(c).unwrap_or_default();
        if current_width + char_width > width && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
            current_width = 0;
        }
        current.push(c);
        current_width += char_width;
    }
    pieces.push(current);
    pieces
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use expect_test::{Expect, expect};
    use twilight_model::{
        channel::message::{
            Component, MessageFlags,
            component::{
                ActionRow, Button, ButtonStyle, Container, Section, SelectMenu, SelectMenuOption,
                SelectMenuType, Separator, TextDisplay,
            },
            embed::{Embed, EmbedAuthor, EmbedField, EmbedFooter},
        },
        http::interaction::InteractionResponseData,
        util::Timestamp,
    };

    use super::{Choice, MessageView, RenderOptions, render_message};

    /// One rendering to snapshot; built from owned parts so tables stay readable.
    struct Case {
        content: Option<&'static str>,
        embeds: Vec<Embed>,
        components: Vec<Component>,
        ephemeral: bool,
        width: usize,
        color: bool,
        expected: Expect,
    }

    impl Default for Case {
        fn default() -> Self {
            Self {
                content: None,
                embeds: Vec::new(),
                components: Vec::new(),
                ephemeral: false,
                width: 60,
                color: false,
                expected: expect![[""]],
            }
        }
    }

    fn check(cases: Vec<Case>) {
        for case in cases {
            let view = MessageView {
                content: case.content,
                embeds: &case.embeds,
                components: &case.components,
                ephemeral: case.ephemeral,
            };
            let options = RenderOptions {
                width: case.width,
                color: case.color,
            };
            let rendered = render_message(&view, &options);
            for line in rendered.text.lines() {
                let visible = line.replace("\x1b[1m", "").replace("\x1b[2m", "");
                let visible = visible.replace("\x1b[0m", "");
                assert!(
                    unicode_width::UnicodeWidthStr::width(visible.as_str()) <= case.width.max(20),
                    "line wider than {}: {line:?}",
                    case.width
                );
            }
            let mut shown = rendered.text.replace('\x1b', "␛");
            for choice in &rendered.choices {
                shown.push_str(&format!(
                    "\n= choice {} {:?} -> {}",
                    choice.number, choice.label, choice.custom_id
                ));
            }
            case.expected.assert_eq(&shown);
        }
    }

    fn embed() -> Embed {
        Embed {
            author: None,
            color: Some(0x0078d4),
            description: None,
            fields: Vec::new(),
            flags: None,
            footer: None,
            image: None,
            kind: "rich".to_owned(),
            provider: None,
            thumbnail: None,
            timestamp: None,
            title: None,
            url: None,
            video: None,
        }
    }

    fn field(name: &str, value: &str, inline: bool) -> EmbedField {
        EmbedField {
            inline,
            name: name.to_owned(),
            value: value.to_owned(),
        }
    }

    fn footer(text: &str) -> Option<EmbedFooter> {
        Some(EmbedFooter {
            icon_url: None,
            proxy_icon_url: None,
            text: text.to_owned(),
        })
    }

    fn button(label: &str, custom_id: &str, style: ButtonStyle, disabled: bool) -> Component {
        Component::Button(Button {
            custom_id: (style != ButtonStyle::Link).then(|| custom_id.to_owned()),
            disabled,
            emoji: None,
            id: None,
            label: Some(label.to_owned()),
            sku_id: None,
            style,
            url: (style == ButtonStyle::Link).then(|| custom_id.to_owned()),
        })
    }

    fn row(components: Vec<Component>) -> Component {
        Component::ActionRow(ActionRow {
            components,
            id: None,
        })
    }

    fn text_display(content: &str) -> Component {
        Component::TextDisplay(TextDisplay {
            content: content.to_owned(),
            id: None,
        })
    }

    fn vm_embed() -> Embed {
        Embed {
            title: Some("Virtual machines in **rg-web**".to_owned()),
            description: Some("3 VMs found. Use `/vm start name:<vm>` to start one.".to_owned()),
            fields: vec![
                field("Name", "web-1\nweb-2\ndb-1", true),
                field("Status", "🟢 running\n🔴 stopped\n🟢 running", true),
                field("Size", "Standard_B2s\nStandard_B2s\nStandard_D4s_v5", true),
                field("Location", "westeurope", false),
                field("Tags", "env=prod\nowner=platform-team", false),
            ],
            footer: footer("azcord • request 7f3a"),
            timestamp: Some(Timestamp::from_str("2025-03-01T12:34:56.000000+00:00").unwrap()),
            ..embed()
        }
    }

    #[test]
    fn renders_content() {
        check(vec![
            Case {
                content: Some(
                    "**Done.** VM `web-1` is *running* (see [the docs](https://aka.ms/vm)); \
                     snake_case_names stay, 2 * 3 stays, \\*escaped\\* and ~~gone~~ __under__",
                ),
                expected: expect![[r#"
                    Done. VM `web-1` is running (see the docs
                    (https://aka.ms/vm)); snake_case_names stay, 2 * 3 stays,
                    *escaped* and gone under"#]],
                ..Case::default()
            },
            Case {
                content: Some(
                    "# Deployment\nSteps:\n- build the image\n  - then push it to the registry that lives in westeurope\n```sh\naz vm start --name web-1 --resource-group rg-web --subscription 00000000-0000-0000-0000-000000000000\n```\n-# took 3s",
                ),
                width: 40,
                expected: expect![[r#"
                    Deployment
                    Steps:
                    - build the image
                      - then push it to the registry that
                      lives in westeurope
                        az vm start --name web-1 --resource-
                        group rg-web --subscription 00000000
                        -0000-0000-0000-000000000000
                    took 3s"#]],
                ..Case::default()
            },
            Case {
                content: Some(
                    "```one line of code``` and a verylongwordthatcannotpossiblyfitonasingleline",
                ),
                width: 20,
                expected: expect![[r#"
                    ```one line of
                    code``` and a
                    verylongwordthatcann
                    otpossiblyfitonasing
                    leline"#]],
                ..Case::default()
            },
            Case {
                expected: expect!["azcord is thinking…"],
                ..Case::default()
            },
            Case {
                content: Some("   "),
                ephemeral: true,
                expected: expect![[r#"
                    (only you can see this)
                    azcord is thinking…"#]],
                ..Case::default()
            },
            Case {
                content: Some("you need the **operator** role to run /vm stop"),
                ephemeral: true,
                expected: expect![[r#"
                    (only you can see this)
                    you need the operator role to run /vm stop"#]],
                ..Case::default()
            },
        ]);
    }

    #[test]
    fn renders_embeds() {
        check(vec![
            Case {
                embeds: vec![vm_embed()],
                expected: expect![[r#"
                    ╭──────────────────────────────────────────────────────╮
                    │ Virtual machines in rg-web                           │
                    ├──────────────────────────────────────────────────────┤
                    │ 3 VMs found. Use `/vm start name:<vm>` to start one. │
                    │                                                      │
                    │ Name   Status      Size                              │
                    │ ─────  ──────────  ───────────────                   │
                    │ web-1  🟢 running  Standard_B2s                      │
                    │ web-2  🔴 stopped  Standard_B2s                      │
                    │ db-1   🟢 running  Standard_D4s_v5                   │
                    │                                                      │
                    │ Location: westeurope                                 │
                    │ Tags: env=prod                                       │
                    │   owner=platform-team                                │
                    ├──────────────────────────────────────────────────────┤
                    │ azcord • request 7f3a • 2025-03-01 12:34 UTC         │
                    ╰──────────────────────────────────────────────────────╯"#]],
                ..Case::default()
            },
            Case {
                embeds: vec![vm_embed()],
                width: 30,
                expected: expect![[r#"
                    ╭────────────────────────────╮
                    │ Virtual machines in rg-web │
                    ├────────────────────────────┤
                    │ 3 VMs found. Use `/vm      │
                    │ start name:<vm>` to start  │
                    │ one.                       │
                    │                            │
                    │ Name   Status              │
                    │ ─────  ──────────          │
                    │ web-1  🟢 running          │
                    │ web-2  🔴 stopped          │
                    │ db-1   🟢 running          │
                    │                            │
                    │ Size                       │
                    │ ───────────────            │
                    │ Standard_B2s               │
                    │ Standard_B2s               │
                    │ Standard_D4s_v5            │
                    │                            │
                    │ Location: westeurope       │
                    │ Tags: env=prod             │
                    │   owner=platform-team      │
                    ├────────────────────────────┤
                    │ azcord • request 7f3a •    │
                    │ 2025-03-01 12:34 UTC       │
                    ╰────────────────────────────╯"#]],
                ..Case::default()
            },
            Case {
                embeds: vec![Embed {
                    author: Some(EmbedAuthor {
                        icon_url: None,
                        name: "azcord".to_owned(),
                        proxy_icon_url: None,
                        url: None,
                    }),
                    title: Some("Activity log".to_owned()),
                    url: Some("https://portal.azure.com/#blade/activity".to_owned()),
                    fields: vec![
                        field("\u{200b}", "a value with no name", true),
                        field(
                            "Operation",
                            "Microsoft.Compute/virtualMachines/start/action succeeded after a long wait",
                            true,
                        ),
                    ],
                    ..embed()
                }],
                width: 40,
                expected: expect![[r#"
                    ╭──────────────────────────────────────╮
                    │ azcord                               │
                    │ Activity log                         │
                    │ https://portal.azure.com/#blade/acti │
                    │ vity                                 │
                    ├──────────────────────────────────────┤
                    │ a value with no name                 │
                    │ Operation:                           │
                    │ Microsoft.Compute/virtualMachines/st │
                    │ art/action succeeded after a long    │
                    │ wait                                 │
                    ╰──────────────────────────────────────╯"#]],
                ..Case::default()
            },
            Case {
                content: Some("two embeds, one empty:"),
                embeds: vec![
                    embed(),
                    Embed {
                        description: Some("just a description".to_owned()),
                        ..embed()
                    },
                ],
                expected: expect![[r#"
                    two embeds, one empty:
                    ╭────────────────────╮
                    │ just a description │
                    ╰────────────────────╯"#]],
                ..Case::default()
            },
        ]);
    }

    #[test]
    fn renders_buttons_as_numbered_choices() {
        check(vec![
            Case {
                content: Some("stop **web-1**? this deallocates the VM"),
                components: vec![
                    row(vec![
                        button("Stop", "vm:stop:web-1", ButtonStyle::Danger, false),
                        button("Cancel", "vm:cancel", ButtonStyle::Secondary, false),
                        button("Restart", "vm:restart:web-1", ButtonStyle::Primary, true),
                    ]),
                    row(vec![
                        button(
                            "Docs",
                            "https://learn.microsoft.com/azure/virtual-machines",
                            ButtonStyle::Link,
                            false,
                        ),
                        button("Details", "vm:details:web-1", ButtonStyle::Success, false),
                    ]),
                ],
                expected: expect![[r#"
                    stop web-1? this deallocates the VM
                    [1] Stop  [2] Cancel  [-] Restart (disabled)
                    [link] Docs
                    (https://learn.microsoft.com/azure/virtual-machines)
                    [3] Details
                    = choice 1 "Stop" -> vm:stop:web-1
                    = choice 2 "Cancel" -> vm:cancel
                    = choice 3 "Details" -> vm:details:web-1"#]],
                ..Case::default()
            },
            Case {
                content: Some("pick a page"),
                components: vec![row(["First", "Previous", "Next", "Last", "Refresh"]
                    .into_iter()
                    .map(|label| {
                        button(label, &label.to_lowercase(), ButtonStyle::Secondary, false)
                    })
                    .collect())],
                width: 30,
                expected: expect![[r#"
                    pick a page
                    [1] First  [2] Previous
                    [3] Next  [4] Last
                    [5] Refresh
                    = choice 1 "First" -> first
                    = choice 2 "Previous" -> previous
                    = choice 3 "Next" -> next
                    = choice 4 "Last" -> last
                    = choice 5 "Refresh" -> refresh"#]],
                ..Case::default()
            },
            Case {
                content: Some("choose a size"),
                components: vec![row(vec![Component::SelectMenu(SelectMenu {
                    channel_types: None,
                    custom_id: "vm:size".to_owned(),
                    default_values: None,
                    disabled: false,
                    id: None,
                    kind: SelectMenuType::Text,
                    max_values: None,
                    min_values: None,
                    options: Some(
                        ["small", "medium", "large"]
                            .map(|label| SelectMenuOption {
                                default: false,
                                description: None,
                                emoji: None,
                                label: label.to_owned(),
                                value: label.to_owned(),
                            })
                            .to_vec(),
                    ),
                    placeholder: Some("VM size".to_owned()),
                    required: None,
                })])],
                expected: expect![[r#"
                    choose a size
                    [select] VM size: small, medium, large"#]],
                ..Case::default()
            },
        ]);
    }

    #[test]
    fn renders_layout_components() {
        check(vec![Case {
            components: vec![
                text_display("## Cost report"),
                Component::Container(Container {
                    accent_color: None,
                    components: vec![
                        text_display("**rg-web** spent €12.40 this month"),
                        Component::Separator(Separator {
                            divider: Some(true),
                            id: None,
                            spacing: None,
                        }),
                        Component::Section(Section {
                            accessory: Box::new(button(
                                "Breakdown",
                                "cost:breakdown",
                                ButtonStyle::Primary,
                                false,
                            )),
                            components: vec![text_display("see per-resource costs")],
                            id: None,
                        }),
                    ],
                    id: None,
                    spoiler: None,
                }),
            ],
            expected: expect![[r#"
                Cost report
                ╭────────────────────────────────╮
                │ rg-web spent €12.40 this month │
                ├────────────────────────────────┤
                │ see per-resource costs         │
                │ [1] Breakdown                  │
                ╰────────────────────────────────╯
                = choice 1 "Breakdown" -> cost:breakdown"#]],
            ..Case::default()
        }]);
    }

    #[test]
    fn color_adds_bold_titles_and_dim_notes() {
        check(vec![
            Case {
                content: Some("# Report\n**bold** text stays plain\n```\ncode\n```\n-# subtext"),
                color: true,
                expected: expect![[r#"
                    ␛[1mReport␛[0m
                    bold text stays plain
                        code
                    ␛[2msubtext␛[0m"#]],
                ..Case::default()
            },
            Case {
                embeds: vec![Embed {
                    title: Some("web-1".to_owned()),
                    fields: vec![field("State", "running", true), field("Size", "B2s", true)],
                    footer: footer("azcord"),
                    ..embed()
                }],
                ephemeral: true,
                color: true,
                expected: expect![[r#"
                    ␛[2m(only you can see this)␛[0m
                    ╭───────────────╮
                    │ ␛[1mweb-1␛[0m         │
                    ├───────────────┤
                    │ ␛[1mState    Size␛[0m │
                    │ ───────  ──── │
                    │ running  B2s  │
                    ├───────────────┤
                    │ ␛[2mazcord␛[0m        │
                    ╰───────────────╯"#]],
                ..Case::default()
            },
            Case {
                embeds: vec![Embed {
                    title: Some("web-1".to_owned()),
                    fields: vec![field("State", "running", true), field("Size", "B2s", true)],
                    footer: footer("azcord"),
                    ..embed()
                }],
                ephemeral: true,
                expected: expect![[r#"
                    (only you can see this)
                    ╭───────────────╮
                    │ web-1         │
                    ├───────────────┤
                    │ State    Size │
                    │ ───────  ──── │
                    │ running  B2s  │
                    ├───────────────┤
                    │ azcord        │
                    ╰───────────────╯"#]],
                ..Case::default()
            },
        ]);
    }

    #[test]
    fn inline_markdown_is_light() {
        let cases = [
            ("**bold** and __underline__", "bold and underline"),
            ("unclosed **bold", "unclosed **bold"),
            ("2**3 and 2 * 3 * 4", "2**3 and 2 * 3 * 4"),
            ("*italic* and _italic_", "italic and italic"),
            ("snake_case_name and __init__", "snake_case_name and init"),
            ("`**kept**` and ``", "`**kept**` and ``"),
            ("||spoiler|| ~~struck~~", "spoiler struck"),
            ("[https://x.io](https://x.io)", "https://x.io"),
            (
                "[**docs**](https://x.io) [not a link]",
                "docs (https://x.io) [not a link]",
            ),
            (r"\*not italic\* \_nor this\_", "*not italic* _nor this_"),
            (r"\# \* a \\ b \z", r"# * a \ b \z"),
            (
                "<@123> <#456> <t:1700000000:R>",
                "<@123> <#456> <t:1700000000:R>",
            ),
        ];
        for (markdown, expected) in cases {
            assert_eq!(super::inline_markdown(markdown), expected, "{markdown:?}");
        }
    }

    #[test]
    fn views_response_data_and_messages() {
        let data = InteractionResponseData {
            content: Some("done".to_owned()),
            components: Some(vec![row(vec![button(
                "Undo",
                "undo:1",
                ButtonStyle::Secondary,
                false,
            )])]),
            flags: Some(MessageFlags::EPHEMERAL),
            ..InteractionResponseData::default()
        };
        let view = MessageView::from_response_data(&data);
        assert!(view.ephemeral);
        assert!(view.embeds.is_empty());
        let rendered = render_message(&view, &RenderOptions::default());
        assert_eq!(rendered.text, "(only you can see this)\ndone\n[1] Undo");
        assert_eq!(
            rendered.choices,
            vec![Choice {
                number: 1,
                label: "Undo".to_owned(),
                custom_id: "undo:1".to_owned(),
            }]
        );

        let deferred = InteractionResponseData::default();
        let view = MessageView::from_response_data(&deferred);
        assert!(!view.ephemeral);
        assert_eq!(
            render_message(&view, &RenderOptions::default()).text,
            "azcord is thinking…"
        );
    }
}
