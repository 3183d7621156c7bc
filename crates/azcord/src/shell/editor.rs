//! The interactive shell's line editor: rustyline, with history kept between runs,
//! Tab completion through the bot and a hint line under the prompt.
//!
//! rustyline blocks the thread it reads on, so it gets a thread of its own; the
//! shell asks it for lines over a channel and keeps the async runtime free for the
//! bot. Completion runs on that thread too, and waits there for the bot's answer.

use std::{
    borrow::Cow,
    ffi::OsStr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, mpsc},
    thread::JoinHandle,
};

use anyhow::Context as _;
use azcord_command::twilight_model::application::command::Command;
use azcord_sim::{SimUser, terminal};
use rustyline::{
    CompletionType, Config, Editor,
    completion::{Candidate, Completer},
    error::ReadlineError,
    highlight::Highlighter,
    hint::{Hint, Hinter},
    history::FileHistory,
    validate::Validator,
};
use tokio::sync::oneshot;

use crate::{local::LocalBot, output};

/// What the shell needs to complete lines as its user.
pub(super) struct Completion {
    pub(super) bot: Arc<LocalBot>,
    pub(super) user: SimUser,
    pub(super) guild_id: Option<u64>,
    pub(super) channel_id: u64,
    /// The width the hint line is cut to.
    pub(super) width: usize,
    /// Whether the hint line is drawn dim.
    pub(super) color: bool,
}

/// One answer of the editor.
pub(super) enum Read {
    /// A line, as typed.
    Line(String),
    /// Ctrl-C: the line was dropped.
    Interrupted,
    /// Ctrl-D on an empty line.
    End,
}

/// The editor's thread, and the way to ask it for lines.
pub(super) struct LineEditor {
    requests: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

struct Request {
    prompt: String,
    /// Whether the line goes into the history.
    remember: bool,
    reply: oneshot::Sender<Result<Read, ReadlineError>>,
}

impl LineEditor {
    /// Starts the editor on its own thread, with the history in `history` if given.
    pub(super) async fn start(
        completion: Completion,
        history: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Handle::current();
        let commands = completion.bot.commands();
        let helper = ShellHelper {
            completion,
            commands,
            runtime,
            hint_state: Mutex::new(HintState::default()),
        };
        let (requests, receiver) = mpsc::channel::<Request>();
        let (ready, started) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("azcord-shell-editor".to_owned())
            .spawn(move || {
                let editor = match new_editor(helper, history.as_deref()) {
                    Ok(editor) => {
                        let _ = ready.send(Ok(()));
                        editor
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                serve(editor, history.as_deref(), &receiver);
            })
            .context("cannot start the line editor")?;
        started
            .await
            .context("the line editor stopped before it started")?
            .context("cannot set up the line editor")?;
        Ok(Self {
            requests: Some(requests),
            thread: Some(thread),
        })
    }

    /// Shows `prompt` and waits for a line; `remember` puts it in the history.
    pub(super) async fn read(&self, prompt: &str, remember: bool) -> anyhow::Result<Read> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .as_ref()
            .context("the line editor is closed")?
            .send(Request {
                prompt: prompt.to_owned(),
                remember,
                reply,
            })
            .map_err(|_| anyhow::anyhow!("the line editor stopped"))?;
        Ok(answer.await.context("the line editor stopped")??)
    }
}

impl Drop for LineEditor {
    fn drop(&mut self) {
        // Closing the channel ends the thread, which drops its hold on the bot.
        self.requests.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Where the history is kept: `$XDG_DATA_HOME/azcord/shell-history`, else
/// `~/.local/share/azcord/shell-history`; `None` when neither is known.
pub(super) fn history_path() -> Option<PathBuf> {
    history_path_in(
        std::env::var_os("XDG_DATA_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

/// The XDG rule: a relative `XDG_DATA_HOME` is ignored.
fn history_path_in(xdg_data_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    let absolute =
        |value: Option<&OsStr>| value.map(PathBuf::from).filter(|path| path.is_absolute());
    let data_home = absolute(xdg_data_home)
        .or_else(|| absolute(home).map(|home| home.join(".local").join("share")))?;
    Some(data_home.join("azcord").join("shell-history"))
}

fn new_editor(
    helper: ShellHelper,
    history: Option<&Path>,
) -> Result<Editor<ShellHelper, FileHistory>, ReadlineError> {
    let config = Config::builder()
        .max_history_size(1000)?
        .history_ignore_dups(true)?
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .completion_show_all_if_ambiguous(true)
        .auto_add_history(false)
        .build();
    let mut editor = Editor::with_config(config)?;
    editor.set_helper(Some(helper));
    if let Some(path) = history {
        if let Some(parent) = path.parent()
            && let Err(error) = std::fs::create_dir_all(parent)
        {
            tracing::warn!(path = %parent.display(), %error, "cannot create the history directory");
        }
        match editor.load_history(path) {
            Ok(()) => {}
            Err(ReadlineError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read the shell history");
            }
        }
    }
    Ok(editor)
}

fn serve(
    mut editor: Editor<ShellHelper, FileHistory>,
    history: Option<&Path>,
    requests: &mpsc::Receiver<Request>,
) {
    while let Ok(request) = requests.recv() {
        let read = match editor.readline(&request.prompt) {
            Ok(line) => {
                if request.remember && worth_remembering(&line) {
                    remember(&mut editor, history, line.trim());
                }
                Ok(Read::Line(line))
            }
            Err(ReadlineError::Interrupted) => {
                // The dropped line stays on screen, as in any shell; its hint goes.
                if editor.helper().is_some_and(ShellHelper::hint_shown) {
                    output::erase_row_above();
                }
                Ok(Read::Interrupted)
            }
            Err(ReadlineError::Eof) => Ok(Read::End),
            Err(error) => Err(error),
        };
        let _ = request.reply.send(read);
    }
}

/// Button numbers refer to a message of the moment; recalling them later means nothing.
fn worth_remembering(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty() && line.parse::<usize>().is_err()
}

fn remember(editor: &mut Editor<ShellHelper, FileHistory>, history: Option<&Path>, line: &str) {
    match editor.add_history_entry(line) {
        Ok(true) => {}
        Ok(false) => return,
        Err(error) => tracing::warn!(%error, "cannot add the line to the history"),
    }
    // Appended at once, so that another shell and a crash lose nothing.
    if let Some(path) = history
        && let Err(error) = editor.append_history(path)
    {
        tracing::warn!(path = %path.display(), %error, "cannot save the shell history");
    }
}

/// rustyline's view of the shell: completion, hints and their colours.
struct ShellHelper {
    completion: Completion,
    /// The registered commands, for the hint line on every keystroke.
    commands: Vec<Command>,
    runtime: tokio::runtime::Handle,
    hint_state: Mutex<HintState>,
}

/// What the hint line shows, so that a list of candidates is not drawn over it.
#[derive(Default)]
struct HintState {
    /// The line the hint line was last drawn under.
    shown_under: Option<String>,
    /// The line candidates were listed for: no hint under it, the list says more.
    listed_for: Option<String>,
}

/// A candidate as rustyline lists and inserts it.
struct Offer(terminal::Candidate);

impl Candidate for Offer {
    fn display(&self) -> &str {
        &self.0.display
    }

    fn replacement(&self) -> &str {
        &self.0.replacement
    }
}

/// The line under the prompt; Right arrow does not insert it.
struct HintLine(String);

impl Hint for HintLine {
    fn display(&self) -> &str {
        &self.0
    }

    fn completion(&self) -> Option<&str> {
        None
    }
}

impl Completer for ShellHelper {
    type Candidate = Offer;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Offer>)> {
        let completion = &self.completion;
        let found = self.runtime.block_on(completion.bot.complete(
            &completion.user,
            completion.guild_id,
            completion.channel_id,
            line,
            pos,
        ));
        match found {
            Ok((start, candidates)) => {
                if candidates.len() > 1 {
                    self.before_listing(line, pos, start, &candidates);
                }
                Ok((start, candidates.into_iter().map(Offer).collect()))
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "no suggestions");
                Ok((pos, Vec::new()))
            }
        }
    }
}

impl ShellHelper {
    /// Whether the hint line is drawn under the line being edited.
    fn hint_shown(&self) -> bool {
        self.hint_state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .shown_under
            .is_some()
    }

    /// rustyline is about to list `candidates` under the line: erase the hint line it
    /// would write over, and keep it away while the list stands.
    fn before_listing(
        &self,
        line: &str,
        pos: usize,
        start: usize,
        candidates: &[terminal::Candidate],
    ) {
        let mut state = self
            .hint_state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.shown_under.as_deref() == Some(line) {
            output::erase_rows_below();
        }
        // The line as rustyline leaves it: extended by what every candidate shares.
        let typed = line.get(start..pos).unwrap_or_default();
        let shared = common_prefix(
            candidates
                .iter()
                .map(|candidate| candidate.replacement.as_str()),
        );
        let completed = if shared.len() > typed.len() {
            format!("{}{shared}{}", &line[..start], &line[pos..])
        } else {
            line.to_owned()
        };
        state.listed_for = Some(completed);
    }
}

/// The longest prefix every text shares, on a character boundary.
fn common_prefix<'a>(mut texts: impl Iterator<Item = &'a str>) -> &'a str {
    let Some(first) = texts.next() else {
        return "";
    };
    texts.fold(first, |shared, text| {
        let end = shared
            .char_indices()
            .zip(text.chars())
            .find(|((_, a), b)| a != b)
            .map_or(shared.len().min(text.len()), |((index, _), _)| index);
        &shared[..end]
    })
}

impl Hinter for ShellHelper {
    type Hint = HintLine;

    fn hint(&self, line: &str, _: usize, _: &rustyline::Context<'_>) -> Option<HintLine> {
        let mut state = self
            .hint_state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.listed_for.as_deref() == Some(line) {
            return None;
        }
        state.listed_for = None;
        state.shown_under = None;
        let hint = terminal::hint(line, &self.commands)?;
        state.shown_under = Some(line.to_owned());
        let width = self.completion.width.saturating_sub(1);
        let hint: String = if hint.chars().count() > width {
            hint.chars()
                .take(width.saturating_sub(1))
                .chain(std::iter::once('…'))
                .collect()
        } else {
            hint
        };
        Some(HintLine(format!("\n{hint}")))
    }
}

impl Highlighter for ShellHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.completion.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for ShellHelper {}

impl rustyline::Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_lives_in_the_data_directory() {
        let table = [
            (
                Some("/data"),
                Some("/home/me"),
                Some("/data/azcord/shell-history"),
            ),
            (
                None,
                Some("/home/me"),
                Some("/home/me/.local/share/azcord/shell-history"),
            ),
            (
                Some("relative"),
                Some("/home/me"),
                Some("/home/me/.local/share/azcord/shell-history"),
            ),
            (None, None, None),
            (None, Some("relative"), None),
        ];
        for (xdg, home, expected) in table {
            assert_eq!(
                history_path_in(xdg.map(OsStr::new), home.map(OsStr::new)),
                expected.map(PathBuf::from),
                "{xdg:?} {home:?}"
            );
        }
    }

    #[test]
    fn candidates_share_a_prefix() {
        let table: [(&[&str], &str); 4] = [
            (&["status ", "start ", "stop "], "st"),
            (&["staging/web-1 "], "staging/web-1 "),
            (&["dé", "dà"], "d"),
            (&[], ""),
        ];
        for (texts, expected) in table {
            assert_eq!(common_prefix(texts.iter().copied()), expected, "{texts:?}");
        }
    }

    #[test]
    fn button_numbers_and_blank_lines_stay_out_of_the_history() {
        let table = [
            ("/vm list", true),
            ("  /ping  ", true),
            ("1", false),
            (" 2 ", false),
            ("", false),
            ("   ", false),
        ];
        for (line, expected) in table {
            assert_eq!(worth_remembering(line), expected, "{line:?}");
        }
    }
}
