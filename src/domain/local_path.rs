//! Where to go after signing in: a path on this site, never another one.

use serde::{Deserialize, Serialize};

/// A path on this site (`/inquiries/…`), as a sign-in link's "return to" holds it. A value
/// that a browser could read as another site is refused: one not starting with `/`, one
/// starting with `//` (scheme-relative) and any backslash (browsers read `/\host` as
/// `//host`); so are control characters and anything over 2 000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalPath(String);

/// Why a return path was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidLocalPath {
    #[error("must be a path on this site starting with \"/\", such as \"/inquiries\"")]
    NotAPath,
    #[error("must not start with \"//\": a browser reads that as another site")]
    SchemeRelative,
    #[error("must not contain a backslash: a browser may read it as another site")]
    Backslash,
    #[error("must not contain control or whitespace characters")]
    Control,
    #[error("must be at most {} characters", LocalPath::MAX_CHARS)]
    TooLong,
}

impl LocalPath {
    /// The longest accepted path, in characters.
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(value: &str) -> Result<Self, InvalidLocalPath> {
        if value.chars().count() > Self::MAX_CHARS {
            return Err(InvalidLocalPath::TooLong);
        }
        if !value.starts_with('/') {
            return Err(InvalidLocalPath::NotAPath);
        }
        if value.starts_with("//") {
            return Err(InvalidLocalPath::SchemeRelative);
        }
        if value.contains('\\') {
            return Err(InvalidLocalPath::Backslash);
        }
        if value
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || super::text::is_invisible_or_control(c))
        {
            return Err(InvalidLocalPath::Control);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LocalPath {
    type Error = InvalidLocalPath;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LocalPath> for String {
    fn from(value: LocalPath) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_on_this_site_are_accepted() {
        for good in ["/", "/inquiries", "/inquiries/0193?tab=events#latest"] {
            assert_eq!(LocalPath::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn anything_a_browser_could_read_as_another_site_is_refused() {
        let cases = [
            ("https://evil.example/", InvalidLocalPath::NotAPath),
            ("inquiries", InvalidLocalPath::NotAPath),
            ("", InvalidLocalPath::NotAPath),
            ("//evil.example/", InvalidLocalPath::SchemeRelative),
            ("/\\evil.example/", InvalidLocalPath::Backslash),
            ("/a\nb", InvalidLocalPath::Control),
            ("/a b", InvalidLocalPath::Control),
        ];
        for (bad, why) in cases {
            assert_eq!(LocalPath::parse(bad), Err(why), "{bad:?}");
        }
        assert_eq!(
            LocalPath::parse(&format!("/{}", "a".repeat(2000))),
            Err(InvalidLocalPath::TooLong)
        );
    }
}
