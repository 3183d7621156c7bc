//! Message bodies: what a create or edit request sets, and Discord's limits on the result.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use twilight_model::channel::message::{Component, Embed, MessageFlags};

use super::{SimMessage, api_error::ApiError};

/// Most characters in `content`.
const CONTENT_LIMIT: usize = 2000;
/// Most embeds on a message.
const EMBED_COUNT_LIMIT: usize = 10;
/// Most characters over all embeds of a message.
const EMBED_TOTAL_LIMIT: usize = 6000;

/// Flags a bot may set when it creates a message.
fn settable_flags() -> MessageFlags {
    MessageFlags::EPHEMERAL
        | MessageFlags::SUPPRESS_EMBEDS
        | MessageFlags::SUPPRESS_NOTIFICATIONS
        | MessageFlags::IS_COMPONENTS_V2
}

/// The fields of a message a request body sets.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MessageFields {
    pub(crate) content: String,
    pub(crate) embeds: Vec<Embed>,
    pub(crate) components: Vec<Component>,
    pub(crate) flags: MessageFlags,
    /// Whether the body keeps or adds attachments, which count as content.
    pub(crate) has_attachments: bool,
}

impl Default for MessageFields {
    fn default() -> Self {
        Self {
            content: String::new(),
            embeds: Vec::new(),
            components: Vec::new(),
            flags: MessageFlags::empty(),
            has_attachments: false,
        }
    }
}

impl MessageFields {
    /// Reads a create body (message create, follow-up, callback data); absent fields are empty.
    pub(crate) fn from_body(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut fields = Self::default();
        fields.apply(body)?;
        fields.flags = MessageFlags::from_bits_truncate(
            body.get("flags").and_then(Value::as_u64).unwrap_or(0),
        ) & settable_flags();
        Ok(fields)
    }

    /// The fields of an existing message.
    pub(crate) fn of(message: &SimMessage) -> Self {
        Self {
            content: message.content.clone(),
            embeds: message.embeds.clone(),
            components: message.components.clone(),
            flags: message.flags,
            has_attachments: false,
        }
    }

    /// Applies an edit body: present fields replace, `null` clears, absent fields stay.
    pub(crate) fn apply(&mut self, body: &Map<String, Value>) -> Result<(), ApiError> {
        if let Some(content) = body.get("content") {
            self.content = match content {
                Value::Null => String::new(),
                Value::String(text) => text.clone(),
                _ => {
                    return Err(type_error(
                        "content",
                        "BASE_TYPE_STRING",
                        "Must be a string.",
                    ));
                }
            };
        }
        if let Some(embeds) = body.get("embeds") {
            self.embeds = parse_list(embeds, "embeds", with_rich_type)?;
        }
        if let Some(components) = body.get("components") {
            self.components = parse_list(components, "components", Value::clone)?;
        }
        if let Some(attachments) = body.get("attachments") {
            self.has_attachments = attachments.as_array().is_some_and(|list| !list.is_empty());
        }
        Ok(())
    }

    /// Checks the message against Discord's limits.
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        if self.content.is_empty()
            && self.embeds.is_empty()
            && self.components.is_empty()
            && !self.has_attachments
        {
            return Err(ApiError::empty_message());
        }
        if self.content.chars().count() > CONTENT_LIMIT {
            return Err(max_length(&["content"], CONTENT_LIMIT));
        }
        if self.embeds.len() > EMBED_COUNT_LIMIT {
            return Err(ApiError::invalid_form_body(
                &["embeds"],
                "BASE_TYPE_MAX_LENGTH",
                &format!("Must be {EMBED_COUNT_LIMIT} or fewer in length."),
            ));
        }
        let mut total = 0;
        for (index, embed) in self.embeds.iter().enumerate() {
            total += validate_embed(&index.to_string(), embed)?;
        }
        if total > EMBED_TOTAL_LIMIT {
            return Err(ApiError::invalid_form_body(
                &["embeds"],
                "MAX_EMBED_SIZE_EXCEEDED",
                "Embed size exceeds maximum size of 6000",
            ));
        }
        Ok(())
    }

    /// Writes these fields into `message`.
    pub(crate) fn write_to(self, message: &mut SimMessage) {
        message.content = self.content;
        message.embeds = self.embeds;
        message.components = self.components;
        message.flags = self.flags;
    }
}

/// Checks one embed's field limits; returns its character count toward the 6000 total.
fn validate_embed(index: &str, embed: &Embed) -> Result<usize, ApiError> {
    fn check(
        index: &str,
        field: &str,
        text: Option<&str>,
        limit: usize,
    ) -> Result<usize, ApiError> {
        let length = text.map_or(0, |text| text.chars().count());
        if length > limit {
            return Err(max_length(&["embeds", index, field], limit));
        }
        Ok(length)
    }
    let mut total = check(index, "title", embed.title.as_deref(), 256)?
        + check(index, "description", embed.description.as_deref(), 4096)?
        + check(
            index,
            "footer",
            embed.footer.as_ref().map(|footer| footer.text.as_str()),
            2048,
        )?
        + check(
            index,
            "author",
            embed.author.as_ref().map(|author| author.name.as_str()),
            256,
        )?;
    if embed.fields.len() > 25 {
        return Err(max_length(&["embeds", index, "fields"], 25));
    }
    for (position, field) in embed.fields.iter().enumerate() {
        let position = position.to_string();
        let name = field.name.chars().count();
        let value = field.value.chars().count();
        if name > 256 {
            return Err(max_length(
                &["embeds", index, "fields", &position, "name"],
                256,
            ));
        }
        if value > 1024 {
            return Err(max_length(
                &["embeds", index, "fields", &position, "value"],
                1024,
            ));
        }
        total += name + value;
    }
    Ok(total)
}

/// Parses a JSON body, telling apart broken JSON (50109) from JSON of the wrong shape (50035).
pub(crate) fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|_| ApiError::invalid_json())?;
    serde_json::from_value(value)
        .map_err(|error| ApiError::invalid_form_body(&[], "MODEL_TYPE_CONVERT", &error.to_string()))
}

/// The body as a JSON object, or 50035 if it is another JSON value.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.is_empty() {
        return Ok(Map::new());
    }
    parse_body(bytes)
}

fn with_rich_type(embed: &Value) -> Value {
    let mut embed = embed.clone();
    if let Some(object) = embed.as_object_mut() {
        object.entry("type").or_insert_with(|| Value::from("rich"));
    }
    embed
}

fn parse_list<T: DeserializeOwned>(
    value: &Value,
    field: &str,
    prepare: impl Fn(&Value) -> Value,
) -> Result<Vec<T>, ApiError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                serde_json::from_value(prepare(item)).map_err(|error| {
                    ApiError::invalid_form_body(
                        &[field, &index.to_string()],
                        "MODEL_TYPE_CONVERT",
                        &error.to_string(),
                    )
                })
            })
            .collect(),
        _ => Err(type_error(field, "BASE_TYPE_ARRAY", "Must be an array.")),
    }
}

fn type_error(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::invalid_form_body(&[field], code, message)
}

fn max_length(path: &[&str], limit: usize) -> ApiError {
    ApiError::invalid_form_body(
        path,
        "BASE_TYPE_MAX_LENGTH",
        &format!("Must be {limit} or fewer in length."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn create_bodies_are_read_and_validated() {
        let long = "x".repeat(2001);
        /// Content, embed count and flags of a valid body; the error code of an invalid one.
        type Expected = Result<(&'static str, usize, MessageFlags), u32>;
        let long = long.as_str();
        let cases: Vec<(Value, Expected)> = vec![
            (
                json!({"content": "hi"}),
                Ok(("hi", 0, MessageFlags::empty())),
            ),
            (
                json!({"content": "hi", "flags": 64 | 2}),
                Ok(("hi", 0, MessageFlags::EPHEMERAL)),
            ),
            (
                json!({"embeds": [{"title": "t"}]}),
                Ok(("", 1, MessageFlags::empty())),
            ),
            (json!({}), Err(50006)),
            (json!({"content": ""}), Err(50006)),
            (json!({"content": long}), Err(50035)),
            (json!({"content": 5}), Err(50035)),
            (json!({"embeds": [{"title": "x".repeat(257)}]}), Err(50035)),
            (
                json!({"embeds": [{"description": "x".repeat(4000)}, {"description": "x".repeat(4000)}]}),
                Err(50035),
            ),
            (
                json!({"embeds": (0..11).map(|_| json!({"title": "t"})).collect::<Vec<_>>()}),
                Err(50035),
            ),
            (json!({"embeds": "nope"}), Err(50035)),
            (
                json!({"attachments": [{"id": 0, "filename": "a.txt"}]}),
                Ok(("", 0, MessageFlags::empty())),
            ),
        ];
        for (body, expected) in cases {
            let result = MessageFields::from_body(&object(body.clone()))
                .and_then(|fields| fields.validate().map(|()| fields));
            match (result, expected) {
                (Ok(fields), Ok((content, embeds, flags))) => {
                    assert_eq!(fields.content, content, "{body}");
                    assert_eq!(fields.embeds.len(), embeds, "{body}");
                    assert_eq!(fields.flags, flags, "{body}");
                }
                (Err(error), Err(code)) => assert_eq!(error.code, code, "{body}"),
                (result, expected) => panic!("{body}: got {result:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn edits_replace_present_fields_and_clear_nulls() {
        let mut fields = MessageFields::from_body(&object(json!({
            "content": "before", "embeds": [{"title": "t"}]
        })))
        .unwrap();
        fields.apply(&object(json!({"content": "after"}))).unwrap();
        assert_eq!(fields.content, "after");
        assert_eq!(fields.embeds.len(), 1);
        fields.apply(&object(json!({"embeds": null}))).unwrap();
        assert!(fields.embeds.is_empty());
        fields.apply(&object(json!({"content": null}))).unwrap();
        assert_eq!(fields.validate().unwrap_err().code, 50006);
    }

    #[test]
    fn broken_json_and_wrong_shapes_get_different_codes() {
        assert_eq!(parse_object(b"{").unwrap_err().code, 50109);
        assert_eq!(parse_object(b"[1]").unwrap_err().code, 50035);
        assert_eq!(parse_object(b"").unwrap(), Map::new());
    }
}
