//! The notification e-mail, rendered from the notification's thin body in the recipient's
//! first OAS language (English otherwise), from the templates in `protocol/templates/email/`.
//! The paragraph 78 reference and the non-accusation note come in the recipient's language
//! whatever language the stored invocation text is in. HTML is escaped by minijinja; no
//! content beyond the notification's metadata (and, for the responding state, the
//! invocation text) is ever in an e-mail.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment, context};
use serde::Deserialize;
use serde_json::Value;

/// The strings of one language.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Strings {
    cbm2: String,
    paragraph_78: String,
    non_accusation: String,
    confidential: String,
    open_link: String,
    invocation_heading: String,
    status: String,
    deadline: String,
    signature: String,
    subjects: BTreeMap<String, String>,
    summaries: BTreeMap<String, String>,
}

/// The languages e-mails are written in (the OAS official languages), with their strings,
/// embedded at build time. A reader of none of them gets English.
const STRINGS: [(&str, &str); 4] = [
    (
        "en",
        include_str!("../../protocol/templates/email/strings.en.toml"),
    ),
    (
        "es",
        include_str!("../../protocol/templates/email/strings.es.toml"),
    ),
    (
        "fr",
        include_str!("../../protocol/templates/email/strings.fr.toml"),
    ),
    (
        "pt",
        include_str!("../../protocol/templates/email/strings.pt.toml"),
    ),
];

static LANGUAGES: LazyLock<BTreeMap<&'static str, Strings>> = LazyLock::new(|| {
    STRINGS
        .iter()
        .map(|(language, text)| {
            let strings = toml::from_str(text).unwrap_or_else(|e| {
                panic!("protocol/templates/email/strings.{language}.toml is invalid: {e}")
            });
            (*language, strings)
        })
        .collect()
});

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut environment = Environment::new();
    environment.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    environment
        .add_template(
            "email.txt",
            include_str!("../../protocol/templates/email/email.txt"),
        )
        .expect("email.txt is a valid template");
    environment
        .add_template(
            "email.html",
            include_str!("../../protocol/templates/email/email.html"),
        )
        .expect("email.html is a valid template");
    environment
});

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub language: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The first of `preferences` that e-mails are written in, or English.
pub fn choose_language(preferences: &[String]) -> &'static str {
    preferences
        .iter()
        .find_map(|wanted| {
            LANGUAGES
                .keys()
                .find(|known| **known == wanted.as_str())
                .copied()
        })
        .unwrap_or("en")
}

/// Renders the notification `body` (`{type, timestamp, data}`) for a reader of `languages`.
pub fn render(body: &str, languages: &[String]) -> Result<Rendered, String> {
    let body: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let event = body["type"].as_str().unwrap_or_default().to_owned();
    let data = &body["data"];
    let language = choose_language(languages);
    let strings = &LANGUAGES[language];
    let fill = |text: &str| {
        text.replace("{state}", data["requesting_state"].as_str().unwrap_or("?"))
            .replace("{other}", data["responding_state"].as_str().unwrap_or("?"))
    };
    let subject = fill(
        strings
            .subjects
            .get(&event)
            .map(String::as_str)
            .unwrap_or(&strings.cbm2),
    );
    let summary = fill(
        strings
            .summaries
            .get(&event)
            .map(String::as_str)
            .unwrap_or(&strings.cbm2),
    );
    let ctx = context! {
        language => language,
        subject => &subject,
        summary => summary,
        strings => minijinja::value::Value::from(minijinja::value::Serde(strings)),
        about_inquiry => data.get("inquiry_id").is_some_and(|v| !v.is_null()),
        inquiry_id => data["inquiry_id"].as_str(),
        status => data["status"].as_str(),
        due_at => data["due_at"].as_str(),
        link => data["link"].as_str(),
        invocation_text => data["invocation_text"].as_str(),
    };
    let render = |name: &str| {
        ENVIRONMENT
            .get_template(name)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| e.to_string())
    };
    Ok(Rendered {
        language: language.to_owned(),
        subject,
        text: render("email.txt")?,
        html: render("email.html")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_a_subject_and_summary_for_every_notified_event() {
        for (language, strings) in LANGUAGES.iter() {
            for (event, _) in crate::protocol::notification::NOTIFIED
                .iter()
                .chain([("ping", &[][..])].iter())
            {
                assert!(
                    strings.subjects.contains_key(*event),
                    "{language}: no subject for {event}"
                );
                assert!(
                    strings.summaries.contains_key(*event),
                    "{language}: no summary for {event}"
                );
            }
        }
    }

    #[test]
    fn an_inquiry_notice_names_paragraph_78_and_the_non_accusation_note_and_escapes_html() {
        let body = serde_json::json!({
            "type": "request_info",
            "timestamp": "2026-11-25T10:00:00Z",
            "data": {"inquiry_id": "01a2", "requesting_state": "CHL", "responding_state": "BRA",
                     "status": "awaiting_response", "link": "https://cbm2.example/v1/inquiries/01a2",
                     "invocation_text": "Dear <Ana>"}
        })
        .to_string();
        let rendered = render(&body, &["nl".into(), "en".into()]).unwrap();
        assert_eq!(rendered.language, "en");
        assert!(rendered.subject.contains("CHL"));
        assert!(rendered.text.contains("AG/RES. 2925 (XLVIII-O/18)"));
        assert!(rendered.text.contains("does not constitute an accusation"));
        // HTML escapes the slashes: AG&#x2f;RES. 2925 (XLVIII-O&#x2f;18).
        assert!(rendered.html.contains("paragraph 78") && rendered.html.contains("2925 (XLVIII-O"));
        assert!(rendered.html.contains("does not constitute an accusation"));
        assert!(rendered.text.contains("Dear <Ana>"));
        assert!(rendered.html.contains("Dear &lt;Ana&gt;"));
    }

    /// An inquiry notice in each OAS language, with the invocation text in English: what
    /// must be in the recipient's language comes from the strings, not from the invocation.
    const EVERY_LANGUAGE: [(&str, &str, &str, &str); 4] = [
        (
            "en",
            "paragraph 78",
            "does not constitute an accusation",
            "New CBM #2 inquiry from CHL",
        ),
        (
            "es",
            "párrafo 78",
            "no constituye una acusación",
            "Nueva consulta de CHL en el marco de la MFC N.º 2",
        ),
        (
            "fr",
            "paragraphe 78",
            "ne constitue pas une accusation",
            "Nouvelle demande de CHL au titre de la MDC n° 2",
        ),
        (
            "pt",
            "parágrafo 78",
            "não constitui uma acusação",
            "Nova consulta de CHL no âmbito da MFC n.º 2",
        ),
    ];

    fn request_info_body() -> String {
        serde_json::json!({
            "type": "request_info",
            "timestamp": "2026-11-25T10:00:00Z",
            "data": {"inquiry_id": "01a2", "requesting_state": "CHL", "responding_state": "BRA",
                     "status": "awaiting_response", "due_at": "2026-11-26T10:00:00Z",
                     "link": "https://cbm2.example/v1/inquiries/01a2",
                     "invocation_text": "Dear Ana Souza, I am invoking OAS CBM #2.", "language": "en"}
        })
        .to_string()
    }

    #[test]
    fn each_language_names_paragraph_78_and_carries_the_non_accusation_note_in_that_language() {
        for (language, paragraph, note, subject) in EVERY_LANGUAGE {
            let rendered = render(&request_info_body(), &[language.into(), "en".into()]).unwrap();
            assert_eq!(rendered.language, language);
            assert_eq!(rendered.subject, subject);
            for needle in [paragraph, "AG/RES. 2925 (XLVIII-O/18)", note] {
                assert!(
                    rendered.text.contains(needle),
                    "{language}: the text lacks {needle:?}:\n{}",
                    rendered.text
                );
            }
            // HTML escapes the slashes of the resolution's symbol.
            for needle in [paragraph, "AG&#x2f;RES. 2925 (XLVIII-O&#x2f;18)", note] {
                assert!(
                    rendered.html.contains(needle),
                    "{language}: the HTML lacks {needle:?}:\n{}",
                    rendered.html
                );
            }
            assert!(
                rendered
                    .html
                    .contains(&format!("<html lang=\"{language}\">"))
            );
            assert!(
                rendered
                    .text
                    .contains("Dear Ana Souza, I am invoking OAS CBM #2.")
            );
            let strings = &LANGUAGES[language];
            assert!(rendered.text.contains(&strings.signature), "{language}");
            assert!(
                rendered
                    .text
                    .contains(&format!("{}: awaiting_response", strings.status)),
                "{language}:\n{}",
                rendered.text
            );
        }
    }

    #[test]
    fn every_translation_has_exactly_the_english_keys() {
        let keys = |strings: &Strings| {
            let value = toml::Value::try_from(strings).unwrap();
            let table = value.as_table().unwrap();
            let mut keys: Vec<String> = table.keys().cloned().collect();
            for nested in ["subjects", "summaries"] {
                keys.extend(
                    table[nested]
                        .as_table()
                        .unwrap()
                        .keys()
                        .map(|k| format!("{nested}.{k}")),
                );
            }
            keys
        };
        let english = keys(&LANGUAGES["en"]);
        assert_eq!(LANGUAGES.len(), 4);
        for (language, strings) in LANGUAGES.iter() {
            assert_eq!(keys(strings), english, "{language}");
        }
    }

    #[test]
    fn the_first_oas_language_a_reader_lists_is_chosen_else_english() {
        let choose = |wanted: &[&str]| {
            choose_language(&wanted.iter().map(|l| l.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(choose(&["pt", "en"]), "pt");
        assert_eq!(choose(&["nl", "fr"]), "fr");
        assert_eq!(choose(&["es", "en"]), "es");
        assert_eq!(choose(&["de"]), "en");
        assert_eq!(choose(&[]), "en");
    }
}
