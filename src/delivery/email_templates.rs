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

/// The languages e-mails are written in, with their strings, embedded at build time.
const STRINGS: [(&str, &str); 1] = [(
    "en",
    include_str!("../../protocol/templates/email/strings.en.toml"),
)];

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
}
