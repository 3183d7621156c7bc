//! The pure text layer of `azcord shell`: typed command lines in, rendered replies out.
//!
//! The terminal plays the Discord user. [`input`] turns a line such as
//! `/vm start name:web-1` into the `CommandData` Discord would send, checked against
//! the commands the bot registered; [`complete`] offers what Tab can insert there and
//! the hint line under the prompt; [`render`] turns the bot's reply into text, with
//! embeds drawn as boxes and buttons as numbered choices. Neither does any I/O.

pub mod complete;
pub mod input;
pub mod mentions;
pub mod render;

pub use complete::{
    AutocompleteRequest, Candidate, Completion, autocomplete_candidates, complete, hint,
};
pub use input::{InputError, parse_command_line};
pub use mentions::MentionNames;
pub use render::{Choice, MessageView, RenderOptions, Rendered, render_message};
