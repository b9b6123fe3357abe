//! The pages' words: Fluent files under `src/web/locales/{en,es,fr,pt}/`, embedded at build
//! time (fluent-templates), and the choice of the reader's language.
//!
//! A page asks for a string by key (`t("inbox-title")`); every key exists in every language
//! (a test reads the templates and the files and fails on any gap), so a lookup that finds
//! nothing is a bug: it is logged and shows the key, never an empty space.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid, static_loader};

use crate::domain::Language;

static_loader! {
    static LOCALES = {
        locales: "./src/web/locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: they are invisible characters in
        // the page's text and in what a person copies from it.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static EN: LanguageIdentifier = langid!("en");
static ES: LanguageIdentifier = langid!("es");
static FR: LanguageIdentifier = langid!("fr");
static PT: LanguageIdentifier = langid!("pt");

fn identifier(language: Language) -> &'static LanguageIdentifier {
    match language {
        Language::En => &EN,
        Language::Es => &ES,
        Language::Fr => &FR,
        Language::Pt => &PT,
    }
}

/// The string `key` in `language`.
pub fn text(language: Language, key: &str) -> String {
    lookup(language, key, None)
}

/// The string `key` in `language`, with its `{ $name }` placeables filled from `args`
/// (whole numbers as numbers, for plurals).
pub fn text_with(language: Language, key: &str, args: &[(&'static str, String)]) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue> = args
        .iter()
        .map(|(name, value)| {
            // A whole number is passed as a number, so `{ $n -> [one] … }` picks its plural.
            let value = match value.parse::<i64>() {
                Ok(number) => FluentValue::from(number),
                Err(_) => FluentValue::from(value.clone()),
            };
            (Cow::Borrowed(*name), value)
        })
        .collect();
    lookup(language, key, Some(&args))
}

fn lookup(
    language: Language,
    key: &str,
    args: Option<&HashMap<Cow<'static, str>, FluentValue>>,
) -> String {
    LOCALES
        .try_lookup_complete(identifier(language), key, args)
        .unwrap_or_else(|| {
            tracing::error!(
                key,
                language = language.as_str(),
                "a page asked for a string no translation file has"
            );
            key.to_owned()
        })
}

/// Whether `language` has the string `key` (for optional strings, such as a field's hint).
pub fn has(language: Language, key: &str) -> bool {
    LOCALES.try_lookup(identifier(language), key).is_some()
}

/// The reader's language from an `Accept-Language` header: the first of its ranges, by
/// weight, that is one of ours (`pt-BR` is `pt`); English when none is.
pub fn from_accept_language(header: &str) -> Language {
    let mut ranges: Vec<(f32, usize, &str)> = header
        .split(',')
        .enumerate()
        .filter_map(|(position, range)| {
            let mut parts = range.split(';');
            let tag = parts.next()?.trim();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (weight > 0.0 && !tag.is_empty()).then_some((weight, position, tag))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges
        .into_iter()
        .find_map(|(_, _, tag)| parse_language(tag.split('-').next().unwrap_or(tag)))
        .unwrap_or(Language::En)
}

/// `en`, `es`, `fr` or `pt`, case-insensitively.
pub fn parse_language(code: &str) -> Option<Language> {
    Language::ALL
        .into_iter()
        .find(|language| language.as_str().eq_ignore_ascii_case(code.trim()))
}

/// Every key of `language`'s files, to compare the languages and the templates in tests.
#[cfg(test)]
pub(crate) fn keys(language: Language) -> std::collections::BTreeSet<String> {
    let directory = format!(
        "{}/src/web/locales/{}",
        env!("CARGO_MANIFEST_DIR"),
        language.as_str()
    );
    let mut keys = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&directory).expect("the locale directory exists") {
        let path = entry.expect("a readable entry").path();
        let source = std::fs::read_to_string(&path).expect("a readable file");
        let resource = fluent_bundle::FluentResource::try_new(source)
            .unwrap_or_else(|(_, errors)| panic!("{} does not parse: {errors:?}", path.display()));
        for entry in resource.entries() {
            if let fluent_syntax::ast::Entry::Message(message) = entry {
                keys.insert(message.id.name.to_owned());
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heaviest_language_we_have() {
        assert_eq!(
            from_accept_language("pt-BR,pt;q=0.9,en;q=0.8"),
            Language::Pt
        );
        assert_eq!(
            from_accept_language("de-DE, fr;q=0.5, es;q=0.7"),
            Language::Es
        );
        assert_eq!(from_accept_language("de, it"), Language::En);
        assert_eq!(from_accept_language("fr;q=0, en;q=0.1"), Language::En);
        assert_eq!(from_accept_language("FR-ca"), Language::Fr);
        assert_eq!(from_accept_language(""), Language::En);
        assert_eq!(from_accept_language("es;q=abc, fr"), Language::Fr);
    }

    #[test]
    fn every_language_has_every_key() {
        let english = keys(Language::En);
        assert!(!english.is_empty());
        for language in [Language::Es, Language::Fr, Language::Pt] {
            let theirs = keys(language);
            let missing: Vec<_> = english.difference(&theirs).collect();
            let extra: Vec<_> = theirs.difference(&english).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, not in English {extra:?}",
                language.as_str()
            );
        }
    }

    #[test]
    fn a_string_is_found_in_each_language_with_its_arguments() {
        for language in Language::ALL {
            let title = text(language, "site-name");
            assert_eq!(title, "cbm2");
            let signed_in = text_with(language, "layout-signed-in-as", &[("name", "Ana".into())]);
            assert!(signed_in.contains("Ana"), "{signed_in}");
            assert!(
                !signed_in.contains('\u{2068}'),
                "no isolation marks: {signed_in:?}"
            );
        }
    }
}
