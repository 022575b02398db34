//! OData as Graph's clients use it: `$top`, `$skiptoken` (an opaque keyset position, never
//! an offset), `$select`, and collections with an absolute `@odata.nextLink`.

use std::collections::HashMap;

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::ApiError;

/// Items per page when the client does not say.
pub const DEFAULT_TOP: usize = 100;
/// The most items a page holds.
pub const MAX_TOP: usize = 1000;

/// The OData options of a request.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Items per page.
    pub top: usize,
    /// Where the page starts: after this (sort name, id).
    pub after: Option<(String, String)>,
    /// The properties asked for (empty: all).
    pub select: Vec<String>,
    /// The `$filter` expression, if any.
    pub filter: Option<String>,
    /// Whether `$count=true` asks for `@odata.count`.
    pub count: bool,
    /// The `$orderby` keys: (property, descending).
    pub order_by: Vec<(String, bool)>,
}

impl Options {
    /// Reads the query string; a bad value is a 400 naming it.
    pub fn parse(req: &HttpRequest) -> Result<Self, ApiError> {
        let query: HashMap<String, String> = serde_urlencoded::from_str(req.query_string())
            .map_err(|_| ApiError::bad_request("The query string cannot be read."))?;
        let get = |name: &str| query.get(name).or_else(|| query.get(&name.replace('$', ""))).map(String::as_str);
        let top = match get("$top") {
            None => DEFAULT_TOP,
            Some(t) => match t.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_TOP).contains(&n) => n,
                _ => return Err(ApiError::bad_request(format!("$top: give a number from 1 to {MAX_TOP}, not {t:?}."))),
            },
        };
        let after = match get("$skiptoken") {
            None => None,
            Some(token) => Some(decode_skiptoken(token).ok_or_else(|| {
                ApiError::bad_request("$skiptoken: this token is not one attest made; follow @odata.nextLink as given.")
            })?),
        };
        let select = get("$select")
            .map(|s| s.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let count = match get("$count").map(str::trim) {
            None => false,
            Some(c) if c.eq_ignore_ascii_case("true") => true,
            Some(c) if c.eq_ignore_ascii_case("false") => false,
            Some(c) => return Err(ApiError::bad_request(format!("$count: give true or false, not {c:?}."))),
        };
        let mut order_by = Vec::new();
        for key in get("$orderby").unwrap_or_default().split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let mut words = key.split_whitespace();
            let property = words.next().unwrap_or_default().to_owned();
            let descending = match (words.next(), words.next()) {
                (None, _) => false,
                (Some(d), None) if d.eq_ignore_ascii_case("asc") => false,
                (Some(d), None) if d.eq_ignore_ascii_case("desc") => true,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "$orderby: write a property and optionally asc or desc, not {key:?}."
                    )));
                }
            };
            order_by.push((property, descending));
        }
        Ok(Self { top, after, select, filter: get("$filter").map(str::to_owned), count, order_by })
    }

    /// Refuses an `$orderby` other than the collection's own order, `natural` (a keyset
    /// pages in one order only), with the order it has.
    pub fn natural_order(&self, natural: &str) -> Result<(), ApiError> {
        match self.order_by.as_slice() {
            [] => Ok(()),
            [(property, false)] if property == natural => Ok(()),
            _ => Err(ApiError::bad_request(format!(
                "$orderby: this collection is listed by {natural} (ascending) only; leave $orderby out or ask for that."
            ))),
        }
    }

    /// Refuses `$count=true` where the collection cannot count cheaply.
    pub fn no_count(self) -> Result<Self, ApiError> {
        if self.count {
            return Err(ApiError::bad_request(
                "$count is not supported on this collection yet: count the pages' values.",
            ));
        }
        Ok(self)
    }
}

/// The `$skiptoken` of the page after the row sorted by (`name`, `id`).
pub fn skiptoken(name: &str, id: &str) -> String {
    B64.encode(json!([name, id]).to_string())
}

fn decode_skiptoken(token: &str) -> Option<(String, String)> {
    let bytes = B64.decode(token.trim()).ok()?;
    let (name, id): (String, String) = serde_json::from_slice(&bytes).ok()?;
    Some((name, id))
}

/// A typed object as JSON. The API's types serialize without fail (string keys only).
pub fn json_of(object: &impl Serialize) -> Value {
    serde_json::to_value(object).unwrap_or_default()
}

/// Keeps only the selected properties of `object` (and its `@odata.type` and `id`).
pub fn select(object: Value, properties: &[String]) -> Value {
    if properties.is_empty() {
        return object;
    }
    match object {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| k.starts_with('@') || k == "id" || properties.iter().any(|p| p == k))
                .collect::<Map<String, Value>>(),
        ),
        other => other,
    }
}

/// A collection page: the first `top` of `rows` (one more tells that another page follows),
/// each turned into JSON, with the next link carrying the last row's keyset position.
pub fn collection<T, J: Serialize>(
    req: &HttpRequest,
    public_url: &str,
    context: &str,
    options: &Options,
    mut rows: Vec<T>,
    key: impl Fn(&T) -> (String, String),
    to_json: impl Fn(&T) -> J,
) -> Value {
    let more = rows.len() > options.top;
    rows.truncate(options.top);
    let value: Vec<Value> = rows.iter().map(|r| select(json_of(&to_json(r)), &options.select)).collect();
    let mut out = json!({
        "@odata.context": format!("{}/v1.0/$metadata#{context}", public_url.trim_end_matches('/')),
        "value": value,
    });
    if more && let Some(last) = rows.last() {
        let (name, id) = key(last);
        out["@odata.nextLink"] = Value::String(next_link(req, public_url, &skiptoken(&name, &id)));
    }
    out
}

/// The request's absolute URL with `$skiptoken` set to `token` (other options kept).
fn next_link(req: &HttpRequest, public_url: &str, token: &str) -> String {
    let kept: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "$skiptoken" && k != "skiptoken")
        .chain(std::iter::once(("$skiptoken".to_owned(), token.to_owned())))
        .collect();
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    format!("{}{}?{query}", public_url.trim_end_matches('/'), req.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skiptokens_round_trip_and_select_keeps_the_type_and_id() {
        let t = skiptoken("Ann \"Lee\"", "42");
        assert_eq!(decode_skiptoken(&t), Some(("Ann \"Lee\"".into(), "42".into())));
        assert_eq!(decode_skiptoken("bm9wZQ"), None);
        let v = json!({"@odata.type": "#x", "id": "1", "decision": "Deny", "justification": "no"});
        assert_eq!(select(v, &["decision".into()]), json!({"@odata.type": "#x", "id": "1", "decision": "Deny"}));
    }
}
