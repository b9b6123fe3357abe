//! Cursor pagination: `?limit=` (default 50, at most 200) and an opaque `?cursor=`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::problem::ApiError;
use crate::domain::{MemberStateCode, PersonName};
use crate::store::directory::PocCursor;
use crate::store::inquiries::InquiryCursor;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// A page of a collection that can grow: `{"items": [...], "next_cursor": "…" | null}`.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The query of a list that takes nothing but paging: `?limit=` and `?cursor=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The page size asked for, checked against the bounds.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(limit),
        other => Err(ApiError::invalid_parameter(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}, got {other}"),
        )),
    }
}

/// Encodes a position as an opaque cursor (URL-safe base64 of JSON).
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    let json = serde_json::to_vec(key).expect("cursor keys serialize");
    URL_SAFE_NO_PAD.encode(json)
}

/// A position in a list, as a cursor carries it. A cursor comes from the client like any
/// other input and can be forged: each key says whether it could be one the server handed
/// out, so a forged one is refused (400) instead of reaching the database (where, say, a
/// time out of PostgreSQL's range would fail the query).
pub trait CursorKey: Serialize + DeserializeOwned {
    /// Whether this position could have come from a row.
    fn is_plausible(&self) -> bool;
}

/// A time the database stores and compares faithfully: years 1 to 9999 (RFC 3339's range;
/// SQLite keeps times as RFC 3339 text).
fn plausible_time(time: &DateTime<Utc>) -> bool {
    (1..=9999).contains(&time.year())
}

/// The directory log's sequence numbers: any integer compares.
impl CursorKey for i64 {
    fn is_plausible(&self) -> bool {
        true
    }
}

/// Lists ordered by creation time, then id.
impl CursorKey for (DateTime<Utc>, Uuid) {
    fn is_plausible(&self) -> bool {
        plausible_time(&self.0)
    }
}

impl CursorKey for InquiryCursor {
    fn is_plausible(&self) -> bool {
        plausible_time(&self.created_at)
    }
}

impl CursorKey for PocCursor {
    fn is_plausible(&self) -> bool {
        // A name with NUL is refused by PostgreSQL's text type; stored names are bounded.
        MemberStateCode::parse(&self.member_state).is_ok()
            && !self.name.contains('\0')
            && self.name.chars().count() <= PersonName::MAX_CHARS
    }
}

/// Decodes a cursor this server handed out; anything else is 400 naming `cursor`.
pub fn decode_cursor<K: CursorKey>(cursor: Option<&str>) -> Result<Option<K>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|json| serde_json::from_slice::<K>(&json).ok())
        .filter(K::is_plausible)
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid_parameter("cursor", "is not a cursor this server handed out")
        })
}

/// Builds a page from up to `limit + 1` rows: the extra row only says there is a next page.
pub fn into_page<R, T, K: CursorKey>(
    mut rows: Vec<R>,
    limit: u32,
    key: impl Fn(&R) -> K,
    present: impl FnMut(R) -> T,
) -> Page<T> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = has_more
        .then(|| rows.last().map(|last| encode_cursor(&key(last))))
        .flatten();
    Page {
        items: rows.into_iter().map(present).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forged(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn a_cursor_handed_out_decodes_to_its_position() {
        let key = (crate::clock::now(), Uuid::now_v7());
        let cursor = encode_cursor(&key);
        let decoded: Option<(DateTime<Utc>, Uuid)> = decode_cursor(Some(&cursor)).unwrap();
        assert_eq!(decoded, Some(key));
    }

    #[test]
    fn forged_cursors_with_impossible_positions_are_refused_naming_cursor() {
        let id = Uuid::nil();
        for time in ["+99999-01-01T00:00:00Z", "-0001-01-01T00:00:00Z"] {
            let cursor = forged(&format!(r#"["{time}","{id}"]"#));
            let refused = decode_cursor::<(DateTime<Utc>, Uuid)>(Some(&cursor));
            match refused {
                Err(error @ ApiError::InvalidParameter { .. }) => {
                    assert_eq!(error.extensions()["field"], "cursor")
                }
                other => panic!("{time}: {other:?}"),
            }
        }
        let nul = forged(&format!(
            r#"{{"member_state":"BRA","name":"a\u0000b","id":"{id}"}}"#
        ));
        assert!(decode_cursor::<PocCursor>(Some(&nul)).is_err());
        let state = forged(&format!(
            r#"{{"member_state":"brazil","name":"a","id":"{id}"}}"#
        ));
        assert!(decode_cursor::<PocCursor>(Some(&state)).is_err());
    }
}
