//! Query parameters, looked up case-insensitively as ARM does.

use axum::extract::Query;
use http::Uri;

/// The decoded query pairs of a request, and the raw string for building `nextLink`s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueryParams {
    raw: Option<String>,
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// The query of `uri`; a malformed query counts as empty.
    pub(crate) fn from_uri(uri: &Uri) -> Self {
        let pairs = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|Query(pairs)| pairs)
            .unwrap_or_default();
        Self {
            raw: uri.query().map(str::to_owned),
            pairs,
        }
    }

    /// The first value of `name`, ignoring case (`statusOnly`, `statusonly`).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether `name` is `true` (any case).
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|value| value.eq_ignore_ascii_case("true"))
    }

    /// The raw query without `?`.
    pub(crate) fn raw(&self) -> Option<&str> {
        self.raw.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_case_and_values_are_decoded() {
        let uri: Uri = "/x?api-version=2024-07-01&StatusOnly=TRUE&%24expand=instanceView&f=a%20b"
            .parse()
            .unwrap();
        let query = QueryParams::from_uri(&uri);
        assert_eq!(query.get("API-VERSION"), Some("2024-07-01"));
        assert!(query.flag("statusOnly"));
        assert_eq!(query.get("$expand"), Some("instanceView"));
        assert_eq!(query.get("f"), Some("a b"));
        assert_eq!(query.get("missing"), None);
        assert!(!query.flag("missing"));
    }
}
