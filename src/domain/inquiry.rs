//! Value types of an inquiry's content: time sensitivity, languages, ISO 8601 durations,
//! technical indicators and contact details.

use std::fmt;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::text::is_invisible_or_control;
use super::{EmailAddress, PersonName, PhoneNumber};

/// How urgent an inquiry is (R5: "Indicate time sensitivity as appropriate"). Sets the
/// acknowledgement deadline unless the requester gives an explicit `respond_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSensitivity {
    Routine,
    Urgent,
    Critical,
}

impl TimeSensitivity {
    pub const ALL: [TimeSensitivity; 3] = [Self::Routine, Self::Urgent, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Routine => "routine",
            Self::Urgent => "urgent",
            Self::Critical => "critical",
        }
    }
}

/// The four official languages of the OAS, in which the invocation can be rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    Es,
    Fr,
    Pt,
}

impl Language {
    pub const ALL: [Language; 4] = [Self::En, Self::Es, Self::Fr, Self::Pt];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
            Self::Fr => "fr",
            Self::Pt => "pt",
        }
    }
}

/// A positive ISO 8601 duration of fixed length in whole seconds: weeks, days, hours,
/// minutes, seconds (`PT4H`, `P3D`, `PT2S`, `P1W`). Years and months are refused (their
/// length varies), and so are fractions (`PT0.5S`): what is stored must read back as the
/// same value, and [`fmt::Display`] writes whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsoDuration(TimeDelta);

/// Why a duration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidDuration {
    #[error("must be an ISO 8601 duration such as \"PT4H\", \"P3D\" or \"PT30S\", got {0:?}")]
    Syntax(String),
    #[error(
        "must be given in weeks, days, hours, minutes or seconds, not years or months (their length varies), got {0:?}"
    )]
    Calendar(String),
    #[error("must be longer than zero, got {0:?}")]
    NotPositive(String),
    #[error("must be a whole number of seconds, without fractions, got {0:?}")]
    Fraction(String),
}

impl IsoDuration {
    pub fn parse(text: &str) -> Result<Self, InvalidDuration> {
        let upper = text.to_ascii_uppercase();
        let date_part = upper.split('T').next().unwrap_or_default();
        if !upper.starts_with('P') {
            return Err(InvalidDuration::Syntax(text.to_owned()));
        }
        if date_part.contains('Y') || date_part.contains('M') {
            return Err(InvalidDuration::Calendar(text.to_owned()));
        }
        if upper.contains(['.', ',']) {
            return Err(InvalidDuration::Fraction(text.to_owned()));
        }
        let parsed = speedate::Duration::parse_str(&upper)
            .map_err(|_| InvalidDuration::Syntax(text.to_owned()))?;
        if parsed.microsecond != 0 {
            return Err(InvalidDuration::Fraction(text.to_owned()));
        }
        let delta =
            TimeDelta::days(i64::from(parsed.day)) + TimeDelta::seconds(i64::from(parsed.second));
        if !parsed.positive || delta <= TimeDelta::zero() {
            return Err(InvalidDuration::NotPositive(text.to_owned()));
        }
        Ok(Self(delta))
    }

    /// A measured span (a median, how long overdue), shown in whole seconds: the fraction
    /// is dropped here so that every value of the type displays losslessly.
    pub fn from_delta(delta: TimeDelta) -> Self {
        Self(TimeDelta::seconds(delta.num_seconds()))
    }

    pub fn as_delta(self) -> TimeDelta {
        self.0
    }
}

/// Writes the duration as ISO 8601 in days, hours, minutes and seconds (`P1DT2H3M4S`;
/// `PT0S` for zero). Lossless: parsing what it writes gives the same value back.
impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0.num_seconds().max(0);
        let (days, rest) = (total / 86_400, total % 86_400);
        let (hours, minutes, seconds) = (rest / 3600, rest % 3600 / 60, rest % 60);
        f.write_str("P")?;
        if days > 0 {
            write!(f, "{days}D")?;
        }
        if rest > 0 || days == 0 {
            f.write_str("T")?;
            if hours > 0 {
                write!(f, "{hours}H")?;
            }
            if minutes > 0 {
                write!(f, "{minutes}M")?;
            }
            if seconds > 0 || rest == 0 {
                write!(f, "{seconds}S")?;
            }
        }
        Ok(())
    }
}

impl Serialize for IsoDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The kind of a technical indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorType {
    Ipv4,
    Ipv6,
    Domain,
    Url,
    Hash,
    Email,
    Other,
}

/// A technical indicator of the incident (an address, a domain, a file hash, …), checked
/// against its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawIndicator")]
pub struct Indicator {
    #[serde(rename = "type")]
    kind: IndicatorType,
    value: String,
}

impl Indicator {
    /// Its type as the API writes it: `ipv4`, `domain`, …
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            IndicatorType::Ipv4 => "ipv4",
            IndicatorType::Ipv6 => "ipv6",
            IndicatorType::Domain => "domain",
            IndicatorType::Url => "url",
            IndicatorType::Hash => "hash",
            IndicatorType::Email => "email",
            IndicatorType::Other => "other",
        }
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    #[serde(rename = "type")]
    kind: IndicatorType,
    value: String,
}

impl TryFrom<RawIndicator> for Indicator {
    type Error = String;
    fn try_from(raw: RawIndicator) -> Result<Self, Self::Error> {
        let value = raw.value.trim().to_owned();
        let ok = match raw.kind {
            IndicatorType::Ipv4 => value.parse::<core::net::Ipv4Addr>().is_ok(),
            IndicatorType::Ipv6 => value.parse::<core::net::Ipv6Addr>().is_ok(),
            IndicatorType::Domain => {
                value.len() <= 253
                    && value.contains('.')
                    && value.split('.').all(|label| {
                        !label.is_empty()
                            && label.len() <= 63
                            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    })
            }
            IndicatorType::Url => {
                value.chars().count() <= 2048
                    && (value.starts_with("http://")
                        || value.starts_with("https://")
                        || value.starts_with("hxxp://")
                        || value.starts_with("hxxps://")
                        || value.starts_with("ftp://"))
                    && !value
                        .chars()
                        .any(|c| c.is_whitespace() || is_invisible_or_control(c))
            }
            IndicatorType::Hash => {
                matches!(value.len(), 32 | 40 | 64 | 128)
                    && value.chars().all(|c| c.is_ascii_hexdigit())
            }
            IndicatorType::Email => EmailAddress::parse(&value).is_ok(),
            IndicatorType::Other => {
                !value.is_empty()
                    && value.chars().count() <= 1000
                    && !value.chars().any(is_invisible_or_control)
            }
        };
        if ok {
            Ok(Self {
                kind: raw.kind,
                value,
            })
        } else {
            Err(format!(
                "value {:?} is not a valid {} indicator",
                raw.value,
                serde_json::to_value(raw.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ))
        }
    }
}

/// How to reach the requester (R5: "provide your contact information").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactDetails {
    pub name: PersonName,
    pub email: EmailAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_seconds_to_weeks() {
        assert_eq!(
            IsoDuration::parse("PT2S").unwrap().as_delta(),
            TimeDelta::seconds(2)
        );
        assert_eq!(
            IsoDuration::parse("PT4H").unwrap().as_delta(),
            TimeDelta::hours(4)
        );
        assert_eq!(
            IsoDuration::parse("P180D").unwrap().as_delta(),
            TimeDelta::days(180)
        );
        assert_eq!(
            IsoDuration::parse("P1W").unwrap().as_delta(),
            TimeDelta::days(7)
        );
        assert_eq!(
            IsoDuration::parse("P1DT90M").unwrap().as_delta(),
            TimeDelta::minutes(1530)
        );
    }

    #[test]
    fn durations_refuse_calendar_units_zero_and_garbage() {
        assert!(matches!(
            IsoDuration::parse("P1M"),
            Err(InvalidDuration::Calendar(_))
        ));
        assert!(matches!(
            IsoDuration::parse("P1Y"),
            Err(InvalidDuration::Calendar(_))
        ));
        assert!(matches!(
            IsoDuration::parse("PT0S"),
            Err(InvalidDuration::NotPositive(_))
        ));
        assert!(matches!(
            IsoDuration::parse("4 hours"),
            Err(InvalidDuration::Syntax(_))
        ));
        assert!(IsoDuration::parse("").is_err());
    }

    #[test]
    fn durations_refuse_fractions_of_any_unit() {
        for text in ["PT0.5S", "PT1,5S", "PT1.5H", "P0.5D", "PT2.000001S"] {
            assert!(
                matches!(IsoDuration::parse(text), Err(InvalidDuration::Fraction(_))),
                "{text} was not refused as a fraction"
            );
        }
    }

    proptest::proptest! {
        /// Whatever the parser accepts, printing it and parsing the print gives it back, so a
        /// stored projection always decodes to what was decided.
        #[test]
        fn parse_of_display_is_identity_for_accepted_text(
            weeks in proptest::option::of(0u32..60),
            days in proptest::option::of(0u32..400),
            hours in proptest::option::of(0u32..100),
            minutes in proptest::option::of(0u32..200),
            seconds in proptest::option::of(0u32..100_000),
            fraction in proptest::option::of(0u32..1000),
        ) {
            let mut text = String::from("P");
            if let Some(w) = weeks { text += &format!("{w}W"); }
            if let Some(d) = days { text += &format!("{d}D"); }
            if hours.is_some() || minutes.is_some() || seconds.is_some() {
                text += "T";
                if let Some(h) = hours { text += &format!("{h}H"); }
                if let Some(m) = minutes { text += &format!("{m}M"); }
                if let Some(s) = seconds {
                    text += &s.to_string();
                    if let Some(f) = fraction { text += &format!(".{f:03}"); }
                    text += "S";
                }
            }
            if let Ok(parsed) = IsoDuration::parse(&text) {
                let shown = parsed.to_string();
                proptest::prop_assert_eq!(IsoDuration::parse(&shown), Ok(parsed), "{} shown as {}", text, shown);
                proptest::prop_assert_eq!(parsed.as_delta().subsec_nanos(), 0);
            }
        }

        #[test]
        fn parse_of_display_is_identity_for_every_positive_whole_second(total in 1i64..=400 * 86_400 * 7) {
            let value = IsoDuration::from_delta(TimeDelta::seconds(total));
            proptest::prop_assert_eq!(IsoDuration::parse(&value.to_string()), Ok(value));
        }
    }

    #[test]
    fn durations_print_as_iso_8601() {
        let show = |d: TimeDelta| IsoDuration::from_delta(d).to_string();
        assert_eq!(show(TimeDelta::seconds(2)), "PT2S");
        assert_eq!(show(TimeDelta::hours(4)), "PT4H");
        assert_eq!(show(TimeDelta::days(3)), "P3D");
        assert_eq!(show(TimeDelta::seconds(93_784)), "P1DT2H3M4S");
        assert_eq!(show(TimeDelta::zero()), "PT0S");
    }

    #[test]
    fn indicators_are_checked_against_their_type() {
        let parse = |json: &str| serde_json::from_str::<Indicator>(json);
        assert!(parse(r#"{"type":"ipv4","value":"203.0.113.7"}"#).is_ok());
        assert!(parse(r#"{"type":"ipv4","value":"203.0.113.700"}"#).is_err());
        assert!(parse(r#"{"type":"domain","value":"evil.example"}"#).is_ok());
        assert!(parse(r#"{"type":"hash","value":"abc"}"#).is_err());
        assert!(parse(r#"{"type":"colour","value":"red"}"#).is_err());
    }
}
