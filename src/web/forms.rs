//! The forms of the protocol's actions, from `protocol/forms.toml`: which fields each action
//! asks for and of what kind, and the turning of a submitted form into the JSON body the
//! API takes, which then goes through the API's own parsing (so the page refuses what the
//! API refuses, naming the same field).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::protocol::ActionName;

/// The kind of input a field is asked with (see `protocol/forms.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    Boolean,
    /// A whole number (working days).
    Count,
    Duration,
    Datetime,
    Lines,
    Indicators,
    /// A STIX 2.1 bundle, pasted as JSON text.
    Stix,
    MemberState,
    MemberStates,
    Languages,
    TimeSensitivity,
    ContactChannel,
    Contact,
    Poc,
    SharedPoc,
}

/// One field of an action's form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDefinition {
    pub name: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
}

/// An action's form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    pub fields: Vec<FieldDefinition>,
}

static FORMS: LazyLock<BTreeMap<String, FormDefinition>> = LazyLock::new(|| {
    toml::from_str(include_str!("../../protocol/forms.toml"))
        .unwrap_or_else(|e| panic!("protocol/forms.toml is invalid: {e}"))
});

/// The value of the submitted field `name`, if sent (the first, when it repeats).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The form of `action`, if people take it through a form.
pub fn form_of(action: ActionName) -> Option<&'static FormDefinition> {
    FORMS.get(action.as_str())
}

/// A submitted value the form itself cannot read (the API never sees it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    /// The field, as the form names it.
    pub field: String,
    /// The translation key of the reason.
    pub reason: &'static str,
}

/// The API body of `form` from the submitted `values` (name, value pairs, in order; a
/// name may repeat). Empty inputs are left out, so a missing required field is refused by
/// the API as missing. `zone` reads local dates and times.
pub fn to_body(
    form: &FormDefinition,
    values: &[(String, String)],
    zone: Tz,
) -> Result<Value, FormError> {
    let one = |name: &str| field(values, name).filter(|value| !value.trim().is_empty());
    let all = |name: &str| -> Vec<String> {
        values
            .iter()
            .filter(|(key, value)| key == name && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_owned())
            .collect()
    };
    let mut body = Map::new();
    for field in &form.fields {
        let name = field.name.as_str();
        let error = |reason| FormError {
            field: name.to_owned(),
            reason,
        };
        let value = match field.kind {
            FieldKind::Text
            | FieldKind::MemberState
            | FieldKind::TimeSensitivity
            | FieldKind::ContactChannel
            | FieldKind::Poc
            | FieldKind::SharedPoc => one(name).map(|v| json!(v.trim())),
            // Kept as typed: leading spaces and blank lines inside are the writer's.
            FieldKind::LongText => one(name).map(|v| json!(v.replace("\r\n", "\n"))),
            FieldKind::Boolean => Some(json!(one(name).is_some())),
            FieldKind::Count => whole_number(one(name))
                .ok_or(error("form-error-whole-number"))?
                .map(|n| json!(n)),
            FieldKind::Duration => {
                let days = whole_number(one(&format!("{name}.days")))
                    .ok_or(error("form-error-whole-number"))?;
                let hours = whole_number(one(&format!("{name}.hours")))
                    .ok_or(error("form-error-whole-number"))?;
                match (days, hours) {
                    (None, None) => None,
                    (days, hours) => {
                        Some(json!(iso_duration(days.unwrap_or(0), hours.unwrap_or(0))))
                    }
                }
            }
            FieldKind::Datetime => match one(name) {
                None => None,
                Some(text) => Some(json!(
                    local_to_utc(text.trim(), zone).ok_or(error("form-error-datetime"))?
                )),
            },
            FieldKind::Lines => {
                let lines: Vec<&str> = one(name)
                    .map(|text| {
                        text.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                (!lines.is_empty()).then(|| json!(lines))
            }
            FieldKind::Indicators => {
                let indicators: Vec<Value> = one(name)
                    .map(|text| {
                        text.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(|line| match line.split_once(char::is_whitespace) {
                                Some((kind, value)) => {
                                    json!({"type": kind.to_lowercase(), "value": value.trim()})
                                }
                                None => json!({"type": line.to_lowercase(), "value": ""}),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (!indicators.is_empty()).then(|| json!(indicators))
            }
            // Sent as parsed; text that is not JSON is sent as it is, and refused by the
            // API's reading of the bundle, next to this field.
            FieldKind::Stix => one(name)
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(|text| serde_json::from_str(text).unwrap_or_else(|_| json!(text))),
            FieldKind::MemberStates | FieldKind::Languages => {
                let chosen = all(name);
                (!chosen.is_empty()).then(|| json!(chosen))
            }
            FieldKind::Contact => {
                let part = |part: &str| one(&format!("{name}.{part}")).map(|v| v.trim().to_owned());
                let (person, email, phone) = (part("name"), part("email"), part("phone"));
                if person.is_none() && email.is_none() && phone.is_none() {
                    None
                } else {
                    let mut contact = Map::new();
                    contact.insert("name".into(), json!(person.unwrap_or_default()));
                    contact.insert("email".into(), json!(email.unwrap_or_default()));
                    if let Some(phone) = phone {
                        contact.insert("phone".into(), json!(phone));
                    }
                    Some(Value::Object(contact))
                }
            }
        };
        if let Some(value) = value {
            body.insert(name.to_owned(), value);
        }
    }
    Ok(Value::Object(body))
}

/// `None` for an empty input; `Some(None)` for something that is not a whole number from
/// 0 to 10 000 (the API bounds the duration itself).
fn whole_number(text: Option<&str>) -> Option<Option<u32>> {
    match text {
        None => Some(None),
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 10_000)
            .map(Some),
    }
}

/// `P2DT4H`, `P3D`, `PT6H`; zero is `PT0S`, which the API refuses as not positive.
fn iso_duration(days: u32, hours: u32) -> String {
    match (days, hours) {
        (0, 0) => "PT0S".to_owned(),
        (days, 0) => format!("P{days}D"),
        (0, hours) => format!("PT{hours}H"),
        (days, hours) => format!("P{days}DT{hours}H"),
    }
}

/// A browser's `datetime-local` value (`2026-12-01T14:30`, seconds optional) or a bare date
/// (the start of that day), read in `zone`, as RFC 3339 UTC. A local time that does not
/// exist (skipped by a clock change) is refused; one that happens twice is the first.
pub fn local_to_utc(text: &str, zone: Tz) -> Option<String> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
        })?;
    let local = zone.from_local_datetime(&naive).earliest()?;
    Some(
        local
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// The form field an API error's field path is about: `contact.email` → `contact`,
/// `indicators[2].type` → `indicators`.
pub fn field_of(path: &str) -> &str {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Role;
    use crate::protocol::definition::definition;

    fn values(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_action_a_person_takes_has_a_form() {
        for action in ActionName::ALL {
            let Some(defined) = definition().action(action) else {
                continue;
            };
            // A file is attached through the inquiry page's own upload form (multipart).
            let by_people = action != ActionName::Attach
                && [Role::Requester, Role::Responder, Role::Secretariat]
                    .into_iter()
                    .any(|role| defined.taken_by(role));
            assert_eq!(
                form_of(action).is_some(),
                by_people,
                "{}: a form exactly when people take it",
                action.as_str()
            );
        }
    }

    #[test]
    fn an_acknowledgement_form_becomes_the_apis_body() {
        let form = form_of(ActionName::Acknowledge).unwrap();
        let body = to_body(
            form,
            &values(&[
                ("estimated_timeframe.days", "2"),
                ("estimated_timeframe.hours", "4"),
                ("respond_by", ""),
                ("message", "We are looking into it.\r\nMore soon."),
                ("contact_requested", "on"),
            ]),
            chrono_tz::America::Santiago,
        )
        .unwrap();
        assert_eq!(
            body,
            json!({
                "estimated_timeframe": "P2DT4H",
                "message": "We are looking into it.\nMore soon.",
                "contact_requested": true,
            })
        );
    }

    #[test]
    fn empty_inputs_are_left_out_so_the_api_names_what_is_missing() {
        let form = form_of(ActionName::RequestInfo).unwrap();
        let body = to_body(
            form,
            &values(&[
                ("questions", "  "),
                ("contact.name", ""),
                ("contact.email", ""),
            ]),
            chrono_tz::UTC,
        )
        .unwrap();
        assert_eq!(body, json!({}));
    }

    #[test]
    fn a_local_time_is_read_in_the_viewers_zone() {
        assert_eq!(
            local_to_utc("2026-12-01T09:30", chrono_tz::America::Sao_Paulo).as_deref(),
            Some("2026-12-01T12:30:00Z")
        );
        assert_eq!(
            local_to_utc("2026-12-01", chrono_tz::UTC).as_deref(),
            Some("2026-12-01T00:00:00Z")
        );
        // Clocks in Santiago jump from 00:00 to 01:00 on 2026-09-06: 00:30 never happens.
        assert_eq!(
            local_to_utc("2026-09-06T00:30", chrono_tz::America::Santiago),
            None
        );
        assert_eq!(local_to_utc("tomorrow", chrono_tz::UTC), None);
    }

    #[test]
    fn lists_indicators_and_choices_become_arrays() {
        let body = to_body(
            form_of(ActionName::Describe).unwrap(),
            &values(&[
                ("nature", "Phishing"),
                ("category", "Fraud"),
                ("sectors", "Finance\n\n  Energy  \n"),
                ("indicators", "ipv4 203.0.113.7\nDomain  bad.example\nhash"),
            ]),
            chrono_tz::UTC,
        )
        .unwrap();
        assert_eq!(body["sectors"], json!(["Finance", "Energy"]));
        assert_eq!(
            body["indicators"],
            json!([
                {"type": "ipv4", "value": "203.0.113.7"},
                {"type": "domain", "value": "bad.example"},
                {"type": "hash", "value": ""},
            ])
        );
        let body = to_body(
            form_of(ActionName::Respond).unwrap(),
            &values(&[
                ("information", "x"),
                ("third_states", "ARG"),
                ("third_states", "PER"),
            ]),
            chrono_tz::UTC,
        )
        .unwrap();
        assert_eq!(body["third_states"], json!(["ARG", "PER"]));
    }

    #[test]
    fn a_duration_that_is_not_whole_is_named() {
        let form = form_of(ActionName::Acknowledge).unwrap();
        for bad in ["1.5", "-1", "two", "99999"] {
            let error = to_body(
                form,
                &values(&[("estimated_timeframe.days", bad)]),
                chrono_tz::UTC,
            )
            .unwrap_err();
            assert_eq!(error.field, "estimated_timeframe", "{bad}");
        }
        let body = to_body(
            form,
            &values(&[("estimated_timeframe.hours", "6")]),
            chrono_tz::UTC,
        )
        .unwrap();
        assert_eq!(body["estimated_timeframe"], "PT6H");
    }

    #[test]
    fn an_error_path_names_its_form_field() {
        assert_eq!(field_of("contact.email"), "contact");
        assert_eq!(field_of("indicators[2].type"), "indicators");
        assert_eq!(field_of("questions"), "questions");
    }
}
