//! OAS Member States, named by ISO 3166-1 alpha-3 code, and each one's time zone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An ISO 3166-1 alpha-3 code such as `CHL`: exactly three ASCII uppercase letters.
///
/// Whether the code names one of the 35 OAS Member States is a fact of the database (the
/// `member_states` table, seeded by migration), checked where a code is used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberStateCode(String);

/// Why a text is not a member-state code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be an ISO 3166-1 alpha-3 code of three uppercase letters (e.g. \"CHL\"), got {0:?}")]
pub struct InvalidMemberStateCode(pub String);

impl MemberStateCode {
    pub fn parse(code: &str) -> Result<Self, InvalidMemberStateCode> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(InvalidMemberStateCode(code.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MemberStateCode {
    type Error = InvalidMemberStateCode;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MemberStateCode> for String {
    fn from(code: MemberStateCode) -> Self {
        code.0
    }
}

impl fmt::Display for MemberStateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone name that the time-zone database cbm2 is built with (chrono-tz)
/// knows, exactly as it spells it: `America/Santiago`. Times shown to a member state's
/// POCs are in its time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

/// Why a text is not a time zone.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "must be an IANA time zone name such as \"America/Santiago\" (exactly, without spaces), got {0:?}"
)]
pub struct InvalidTimeZone(pub String);

impl TimeZone {
    pub fn parse(name: &str) -> Result<Self, InvalidTimeZone> {
        chrono_tz::Tz::from_str(name)
            .map(Self)
            .map_err(|_| InvalidTimeZone(name.to_owned()))
    }

    /// The zone, to convert instants with.
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl TryFrom<String> for TimeZone {
    type Error = InvalidTimeZone;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TimeZone> for String {
    fn from(zone: TimeZone) -> Self {
        zone.name().to_owned()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_uppercase_letters() {
        assert_eq!(MemberStateCode::parse("CHL").unwrap().as_str(), "CHL");
    }

    #[test]
    fn refuses_lowercase_two_letter_and_non_ascii_codes() {
        for bad in ["chl", "CL", "CHLE", "CH1", "ÇHL", ""] {
            assert!(MemberStateCode::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_time_zone_is_an_iana_name_spelled_exactly() {
        for good in ["America/Santiago", "America/Argentina/Buenos_Aires", "UTC"] {
            assert_eq!(TimeZone::parse(good).unwrap().name(), good);
        }
        for bad in [
            "",
            " America/Lima",
            "America/Lima ",
            "america/lima",
            "Mars/Olympus",
            "GMT-3x",
        ] {
            assert_eq!(
                TimeZone::parse(bad),
                Err(InvalidTimeZone(bad.to_owned())),
                "{bad:?} was accepted"
            );
        }
    }
}
