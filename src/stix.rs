//! An inquiry's indicators as STIX 2.1 (OASIS), the format CSIRTs' tools exchange, both
//! ways: the bundle `GET /v1/inquiries/{id}/indicators.stix` answers, and the indicators
//! `describe` reads from a bundle (`indicators_stix`). Pure: values in, JSON out.
//!
//! The bundle holds the TLP 2.0 marking TLP:AMBER+STRICT (an inquiry is for the two states
//! only), an `identity` for the requesting state, and one `indicator` a cbm2 indicator,
//! each with a STIX pattern of one comparison: `[ipv4-addr:value = '…']`, `ipv6-addr`,
//! `domain-name`, `url` (a defanged `hxxp` refanged), `email-addr`, and `file:hashes` with
//! the algorithm its length names (MD5, SHA-1, SHA-256, SHA-512). An `other` indicator has
//! no STIX pattern and is left out. Identifiers are deterministic (version-4 UUIDs drawn
//! from a hash), so an export made again names the same objects.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::Indicator;

/// The media type of a STIX 2.1 document.
pub const MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// TLP:AMBER+STRICT, as the TLP 2.0 extension defines it (OASIS cti-stix-common-objects).
const TLP_AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
const TLP_2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The namespace STIX 2.1 gives deterministic identifiers (section 2.9).
const STIX_NAMESPACE: Uuid = Uuid::from_bytes([
    0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7,
]);

/// Whose indicators, from which inquiry, since when.
pub struct Source<'a> {
    pub inquiry_id: Uuid,
    /// The requesting state's ISO 3166-1 alpha-3 code and its name in English.
    pub state_code: &'a str,
    pub state_name: &'a str,
    /// When the inquiry was sent (or created, for a draft): the objects' `created`.
    pub reported_at: DateTime<Utc>,
    /// When the activity began, if the requester said so: the indicators' `valid_from`.
    pub observed_from: Option<DateTime<Utc>>,
}

/// `<kind>--<UUID>`: a version-4 UUID, as STIX asks of its domain objects, whose 122 bits
/// come from a hash of `key` (UUIDv5 in STIX's namespace) instead of a random source, so
/// that an export made again names the same objects.
fn stix_id(kind: &str, key: &str) -> String {
    let hashed = Uuid::new_v5(&STIX_NAMESPACE, format!("{kind}:{key}").as_bytes());
    let id = uuid::Builder::from_random_bytes(hashed.into_bytes()).into_uuid();
    format!("{kind}--{id}")
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A string inside a pattern's single quotes.
fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The STIX pattern of `indicator`; `None` for `other`.
pub fn pattern(indicator: &Indicator) -> Option<String> {
    let value = indicator.value();
    let (path, value) = match indicator.kind_name() {
        "ipv4" => ("ipv4-addr:value", value.to_owned()),
        "ipv6" => ("ipv6-addr:value", value.to_owned()),
        "domain" => ("domain-name:value", value.to_owned()),
        "url" => ("url:value", refanged(value)),
        "email" => ("email-addr:value", value.to_owned()),
        "hash" => (
            match value.len() {
                32 => "file:hashes.MD5",
                40 => "file:hashes.'SHA-1'",
                64 => "file:hashes.'SHA-256'",
                _ => "file:hashes.'SHA-512'",
            },
            value.to_ascii_lowercase(),
        ),
        _ => return None,
    };
    Some(format!("[{path} = '{}']", quoted(&value)))
}

/// `hxxp://` and `hxxps://` (defanged so that nobody follows them by mistake) as the
/// addresses they stand for: a pattern matches what tools observe.
fn refanged(url: &str) -> String {
    match url.strip_prefix("hxxp") {
        Some(rest) => format!("http{rest}"),
        None => url.to_owned(),
    }
}

/// The bundle of `indicators` from `source`.
pub fn bundle(source: &Source<'_>, indicators: &[Indicator]) -> Value {
    let created = timestamp(source.reported_at);
    let valid_from = timestamp(source.observed_from.unwrap_or(source.reported_at));
    let identity = stix_id(
        "identity",
        &format!("cbm2:member-state:{}", source.state_code),
    );
    let mut objects = vec![
        json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": TLP_AMBER_STRICT,
            "created": "2022-10-01T00:00:00.000Z",
            "name": "TLP:AMBER+STRICT",
            "extensions": {
                TLP_2_EXTENSION: {
                    "extension_type": "property-extension",
                    "tlp_2_0": "amber+strict",
                },
            },
        }),
        json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": identity,
            "created": created,
            "modified": created,
            "name": source.state_name,
            "description": format!(
                "The OAS Member State {} ({}), which made the inquiry under CBM #2.",
                source.state_name, source.state_code
            ),
            "identity_class": "organization",
            "sectors": ["government-national"],
            "object_marking_refs": [TLP_AMBER_STRICT],
        }),
    ];
    for indicator in indicators {
        let Some(pattern) = pattern(indicator) else {
            continue;
        };
        objects.push(json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": stix_id("indicator", &format!("{}:{pattern}", source.inquiry_id)),
            "created_by_ref": identity,
            "created": created,
            "modified": created,
            "name": format!("{} {}", indicator.kind_name(), indicator.value()),
            "description": format!(
                "Reported by {} in CBM #2 inquiry {}. An inquiry is not an accusation.",
                source.state_name, source.inquiry_id
            ),
            "indicator_types": ["unknown"],
            "pattern": pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": valid_from,
            "object_marking_refs": [TLP_AMBER_STRICT],
        }));
    }
    json!({
        "type": "bundle",
        "id": stix_id("bundle", &format!("{}:{created}", source.inquiry_id)),
        "objects": objects,
    })
}

/// Why an indicator could not be read from a bundle: where (`objects[3].pattern`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleProblem {
    pub path: String,
    pub detail: String,
}

/// The indicators of a bundle's `indicator` objects (other objects are passed over), each
/// as the path of its pattern (`objects[3].pattern`) and a `{"type", "value"}` pair for
/// [`Indicator`]'s own checks. Only patterns of one comparison of the shapes [`pattern`]
/// writes are read.
pub fn indicators_of(bundle: &Value) -> Result<Vec<(String, Value)>, BundleProblem> {
    let problem = |path: &str, detail: &str| BundleProblem {
        path: path.to_owned(),
        detail: detail.to_owned(),
    };
    if bundle.get("type").and_then(Value::as_str) != Some("bundle") {
        return Err(problem("type", "a STIX bundle has \"type\": \"bundle\""));
    }
    let objects = bundle
        .get("objects")
        .and_then(Value::as_array)
        .ok_or_else(|| problem("objects", "a STIX bundle lists its objects in \"objects\""))?;
    let mut found = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        if object.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        let path = format!("objects[{index}].pattern");
        if object.get("pattern_type").and_then(Value::as_str) != Some("stix") {
            return Err(problem(
                &format!("objects[{index}].pattern_type"),
                "only STIX patterns (\"pattern_type\": \"stix\") are read",
            ));
        }
        let pattern = object
            .get("pattern")
            .and_then(Value::as_str)
            .ok_or_else(|| problem(&path, "an indicator has a pattern"))?;
        let (kind, value) = comparison(pattern).ok_or_else(|| {
            problem(
                &path,
                "only one comparison of an address, domain, URL, e-mail address or file hash \
                 with = is read, such as [ipv4-addr:value = '203.0.113.7']",
            )
        })?;
        found.push((path, json!({"type": kind, "value": value})));
    }
    Ok(found)
}

/// `[<object path> = '<value>']` as a cbm2 indicator type and value.
fn comparison(pattern: &str) -> Option<(&'static str, String)> {
    let inner = pattern.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    let (path, rest) = inner.split_once('=')?;
    let literal = rest.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    let mut value = String::with_capacity(literal.len());
    let mut chars = literal.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?),
            // An unescaped quote ends the literal early: more than one comparison.
            '\'' => return None,
            c => value.push(c),
        }
    }
    let kind = match path.trim() {
        "ipv4-addr:value" => "ipv4",
        "ipv6-addr:value" => "ipv6",
        "domain-name:value" => "domain",
        "url:value" => "url",
        "email-addr:value" => "email",
        "file:hashes.MD5"
        | "file:hashes.'MD5'"
        | "file:hashes.'SHA-1'"
        | "file:hashes.SHA1"
        | "file:hashes.'SHA-256'"
        | "file:hashes.SHA256"
        | "file:hashes.'SHA-512'"
        | "file:hashes.SHA512" => "hash",
        _ => return None,
    };
    Some((kind, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indicator(kind: &str, value: &str) -> Indicator {
        serde_json::from_value(json!({"type": kind, "value": value})).unwrap()
    }

    #[test]
    fn each_kind_has_its_pattern_and_other_has_none() {
        let cases = [
            ("ipv4", "203.0.113.7", "[ipv4-addr:value = '203.0.113.7']"),
            ("ipv6", "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"),
            (
                "domain",
                "evil.example",
                "[domain-name:value = 'evil.example']",
            ),
            (
                "url",
                "hxxps://evil.example/a'b",
                "[url:value = 'https://evil.example/a\\'b']",
            ),
            (
                "email",
                "x@evil.example",
                "[email-addr:value = 'x@evil.example']",
            ),
            (
                "hash",
                &"AB".repeat(16),
                &format!("[file:hashes.MD5 = '{}']", "ab".repeat(16)),
            ),
            (
                "hash",
                &"a".repeat(64),
                &format!("[file:hashes.'SHA-256' = '{}']", "a".repeat(64)),
            ),
        ];
        for (kind, value, want) in cases {
            assert_eq!(pattern(&indicator(kind, value)).as_deref(), Some(want));
        }
        assert_eq!(pattern(&indicator("other", "a registry key")), None);
    }

    #[test]
    fn what_the_bundle_holds_reads_back() {
        let source = Source {
            inquiry_id: Uuid::nil(),
            state_code: "CHL",
            state_name: "Chile",
            reported_at: DateTime::UNIX_EPOCH,
            observed_from: None,
        };
        let given = [
            indicator("ipv4", "203.0.113.7"),
            indicator("url", "https://evil.example/a'b\\c"),
            indicator("hash", &"f".repeat(128)),
            indicator("other", "left out"),
        ];
        let bundle = bundle(&source, &given);
        assert_eq!(bundle["objects"].as_array().unwrap().len(), 5);
        let read: Vec<Indicator> = indicators_of(&bundle)
            .unwrap()
            .into_iter()
            .map(|(_, v)| serde_json::from_value(v).unwrap())
            .collect();
        assert_eq!(read, given[..3]);
        // The same export names the same objects.
        assert_eq!(super::bundle(&source, &given), bundle);
    }

    #[test]
    fn only_single_comparisons_are_read() {
        let of = |pattern: &str| {
            indicators_of(&json!({"type": "bundle", "objects": [
                {"type": "identity"},
                {"type": "indicator", "pattern_type": "stix", "pattern": pattern},
            ]}))
        };
        assert!(of("[ipv4-addr:value = '1.2.3.4']").is_ok());
        for bad in [
            "[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value = '5.6.7.8']",
            "[network-traffic:dst_port = 443]",
            "[ipv4-addr:value != '1.2.3.4']",
            "ipv4-addr:value = '1.2.3.4'",
        ] {
            let problem = of(bad).unwrap_err();
            assert_eq!(problem.path, "objects[1].pattern", "{bad}");
        }
        assert_eq!(
            indicators_of(&json!({"type": "x"})).unwrap_err().path,
            "type"
        );
    }
}
