//! Points of contact: the people in the directory and the values that describe them.

use std::fmt;
use std::str::FromStr;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// CBM #2: POC information "will be updated annually". A POC whose details were last
/// confirmed longer ago than this is stale.
pub const STALE_AFTER: TimeDelta = TimeDelta::days(365);

/// The id of a point of contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PocId(pub Uuid);

impl fmt::Display for PocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a POC is the contact point for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PocRole {
    /// The policy-level contact of CBM #2: the one inquiries are addressed to.
    Policy,
    /// The Ministry of Foreign Affairs contact of CBM #3.
    Mfa,
    /// A technical contact (CSIRT and the like).
    Technical,
}

impl PocRole {
    pub const ALL: [PocRole; 3] = [PocRole::Policy, PocRole::Mfa, PocRole::Technical];

    pub fn as_str(self) -> &'static str {
        match self {
            PocRole::Policy => "policy",
            PocRole::Mfa => "mfa",
            PocRole::Technical => "technical",
        }
    }
}

/// A role name that is not one of `policy`, `mfa`, `technical`.
#[derive(Debug, thiserror::Error)]
#[error("must be one of \"policy\", \"mfa\", \"technical\", got {0:?}")]
pub struct InvalidPocRole(String);

impl FromStr for PocRole {
    type Err = InvalidPocRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PocRole::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| InvalidPocRole(s.to_owned()))
    }
}

impl TryFrom<String> for PocRole {
    type Error = InvalidPocRole;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// An e-mail address, syntactically checked (RFC 5322 addr-spec, by the `email_address`
/// crate) and at most 254 characters, the limit of a forward path in SMTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// Why an e-mail address was refused.
#[derive(Debug, thiserror::Error)]
pub enum InvalidEmailAddress {
    #[error("must be an e-mail address such as \"name@example.org\": {0}")]
    Syntax(email_address::Error),
    #[error("must be at most 254 characters")]
    TooLong,
    #[error("must not contain control or invisible formatting characters")]
    Invisible,
}

impl EmailAddress {
    pub fn parse(value: &str) -> Result<Self, InvalidEmailAddress> {
        let value = value.trim();
        if value.len() > 254 {
            return Err(InvalidEmailAddress::TooLong);
        }
        if value.chars().any(super::text::is_invisible_or_control) {
            return Err(InvalidEmailAddress::Invisible);
        }
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal()
            // A bare host name ("name@localhost") cannot receive mail from outside.
            .with_required_tld();
        email_address::EmailAddress::parse_with_options(value, options)
            .map_err(InvalidEmailAddress::Syntax)?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmailAddress;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

/// A telephone number as people write it: an optional leading `+`, digits, spaces and the
/// separators `-`, `.`, `(`, `)`; between 5 and 20 digits in all (E.164 allows 15, plus room
/// for an extension), at most 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

/// Why a telephone number was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "must be a telephone number such as \"+56 2 2827 4200\" (digits, spaces, + - . ( ); 5 to 20 digits; at most 40 characters)"
)]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    pub fn parse(value: &str) -> Result<Self, InvalidPhoneNumber> {
        let value = value.trim();
        let allowed = |(i, c): (usize, char)| {
            c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && i == 0)
        };
        let digits = value.chars().filter(char::is_ascii_digit).count();
        if value.len() <= 40 && (5..=20).contains(&digits) && value.chars().enumerate().all(allowed)
        {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidPhoneNumber)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhoneNumber;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

/// An ISO 639-1 language code (`en`, `es`, `fr`, `pt`, `nl`, …), two lowercase letters.
///
/// A POC lists the languages it reads in order of preference; the engine writes to it in the
/// first of the OAS official languages (en, es, fr, pt) it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageCode(String);

/// Why a language code was refused.
#[derive(Debug, thiserror::Error)]
#[error("must be an ISO 639-1 code of two lowercase letters (e.g. \"es\"), got {0:?}")]
pub struct InvalidLanguageCode(String);

impl LanguageCode {
    pub fn parse(value: &str) -> Result<Self, InvalidLanguageCode> {
        if value.len() == 2 && value.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidLanguageCode(value.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LanguageCode {
    type Error = InvalidLanguageCode;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LanguageCode> for String {
    fn from(value: LanguageCode) -> Self {
        value.0
    }
}

/// The languages a POC reads, most preferred first: no duplicates, at most 10.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<LanguageCode>", into = "Vec<LanguageCode>")]
pub struct Languages(Vec<LanguageCode>);

/// Why a list of languages was refused.
#[derive(Debug, thiserror::Error)]
pub enum InvalidLanguages {
    #[error("must list at most 10 languages")]
    TooMany,
    #[error("lists {0:?} twice")]
    Duplicate(String),
}

impl Languages {
    pub fn as_slice(&self) -> &[LanguageCode] {
        &self.0
    }
}

impl TryFrom<Vec<LanguageCode>> for Languages {
    type Error = InvalidLanguages;
    fn try_from(codes: Vec<LanguageCode>) -> Result<Self, Self::Error> {
        if codes.len() > 10 {
            return Err(InvalidLanguages::TooMany);
        }
        for (i, code) in codes.iter().enumerate() {
            if codes[..i].contains(code) {
                return Err(InvalidLanguages::Duplicate(code.0.clone()));
            }
        }
        Ok(Self(codes))
    }
}

impl From<Languages> for Vec<LanguageCode> {
    fn from(value: Languages) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_email_addresses() {
        assert!(EmailAddress::parse("ana.souza@mre.gov.br").is_ok());
    }

    #[test]
    fn refuses_malformed_email_addresses() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@gov.br",
            "ana@localhost",
            "Ana <ana@gov.br>",
            "a b@gov.br",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn phone_numbers_need_digits_and_only_phone_characters() {
        assert!(PhoneNumber::parse("+56 2 2827 4200").is_ok());
        assert!(PhoneNumber::parse("(202) 555-0100").is_ok());
        for bad in ["12", "call me", "+1 202 555 0100 ext. 4", "1+202555"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn languages_refuse_duplicates() {
        let codes = vec![
            LanguageCode::parse("es").unwrap(),
            LanguageCode::parse("es").unwrap(),
        ];
        assert!(Languages::try_from(codes).is_err());
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in PocRole::ALL {
            assert_eq!(role.as_str().parse::<PocRole>().unwrap(), role);
        }
        assert!("admin".parse::<PocRole>().is_err());
    }
}
