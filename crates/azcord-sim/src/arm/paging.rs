//! Paged lists: `{"value": [...], "nextLink": "..."}` with a `$skiptoken` in the link.

use serde_json::{Value, json};

use super::{error::ArmError, query::QueryParams};

/// The query parameter carrying the offset of the next page.
const SKIP_TOKEN: &str = "$skiptoken";

/// One page of `items`: the values and, if more follow, the offset of the next page.
pub(crate) fn page<T: Clone>(items: &[T], skip: usize, size: usize) -> (Vec<T>, Option<usize>) {
    let size = size.max(1);
    let start = skip.min(items.len());
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then_some(end);
    (items[start..end].to_vec(), next)
}

/// The offset a request asks for: its `$skiptoken`, or 0 for the first page.
pub(crate) fn skip_of(query: &QueryParams) -> Result<usize, ArmError> {
    match query.get(SKIP_TOKEN) {
        None => Ok(0),
        Some(token) => token.parse().map_err(|_| {
            ArmError::bad_request(
                "InvalidSkipToken",
                &format!("The skip token '{token}' is not valid."),
            )
        }),
    }
}

/// The absolute URL of the page at `skip`: the same path and query with a new `$skiptoken`.
///
/// `endpoint` ends with `/`, `path` starts with one. The other query parameters
/// (`api-version`, `statusOnly`, `$expand`) stay, since a client follows the link as is.
pub(crate) fn next_link(endpoint: &str, path: &str, query: &QueryParams, skip: usize) -> String {
    let mut pairs: Vec<&str> = query
        .raw()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            !key.replace("%24", "$").eq_ignore_ascii_case(SKIP_TOKEN)
        })
        .collect();
    let token = format!("{SKIP_TOKEN}={skip}");
    pairs.push(&token);
    format!(
        "{}{}?{}",
        endpoint.trim_end_matches('/'),
        path,
        pairs.join("&")
    )
}

/// The list body ARM returns.
pub(crate) fn list_body(values: Vec<Value>, next_link: Option<String>) -> Value {
    let mut body = json!({ "value": values });
    if let Some(link) = next_link {
        body["nextLink"] = Value::String(link);
    }
    body
}

#[cfg(test)]
mod tests {
    use http::Uri;

    use super::*;

    #[test]
    fn pages_cover_every_item_once() {
        let items: Vec<u32> = (0..12).collect();
        let cases = [
            (0, 5, vec![0, 1, 2, 3, 4], Some(5)),
            (5, 5, vec![5, 6, 7, 8, 9], Some(10)),
            (10, 5, vec![10, 11], None),
            (12, 5, vec![], None),
            (40, 5, vec![], None),
            (0, 12, (0..12).collect(), None),
            (0, 0, vec![0], Some(1)),
        ];
        for (skip, size, values, next) in cases {
            assert_eq!(
                page(&items, skip, size),
                (values, next),
                "skip {skip} size {size}"
            );
        }
    }

    #[test]
    fn next_links_keep_the_query_and_replace_the_token() {
        let query = |uri: &str| QueryParams::from_uri(&uri.parse::<Uri>().unwrap());
        let first = query("/vms?api-version=2024-07-01&statusOnly=true");
        assert_eq!(
            next_link("http://127.0.0.1:1/", "/vms", &first, 5),
            "http://127.0.0.1:1/vms?api-version=2024-07-01&statusOnly=true&$skiptoken=5"
        );
        let second = query("/vms?api-version=2024-07-01&%24skiptoken=5");
        assert_eq!(skip_of(&second).unwrap(), 5);
        assert_eq!(
            next_link("http://127.0.0.1:1/", "/vms", &second, 10),
            "http://127.0.0.1:1/vms?api-version=2024-07-01&$skiptoken=10"
        );
        assert_eq!(skip_of(&query("/vms")).unwrap(), 0);
        assert!(skip_of(&query("/vms?$skiptoken=abc")).is_err());
    }
}
