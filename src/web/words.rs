//! Tests that every word a page shows comes from the translation files: no template holds
//! text of its own, every key a template or page handler names exists, and every key made
//! from data (a status, an action's form field, an event type) exists for every value.

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use crate::domain::Language;
    use crate::protocol::{ActionName, Status};
    use crate::web::forms::form_of;
    use crate::web::i18n::keys;

    fn sources(directory: &str, extension: &str) -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(directory);
        let mut files: Vec<(String, String)> = std::fs::read_dir(&root)
            .expect("the directory exists")
            .map(|entry| entry.expect("an entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == extension))
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("readable");
                (
                    path.file_name().unwrap().to_string_lossy().into_owned(),
                    text,
                )
            })
            .collect();
        files.sort();
        files
    }

    /// `text` without what lies between each `open` and the next `close`.
    fn without(text: &str, open: &str, close: &str) -> String {
        let mut kept = String::new();
        let mut rest = text;
        while let Some(start) = rest.find(open) {
            kept.push_str(&rest[..start]);
            match rest[start..].find(close) {
                Some(end) => rest = &rest[start + end + close.len()..],
                None => return kept,
            }
        }
        kept.push_str(rest);
        kept
    }

    /// The string literals passed to `.t(`, `.t1(` and `text(language, ` calls in `source`.
    fn named_keys(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        for call in [".t(\"", ".t1(\"", "text(language, \""] {
            let mut rest = source;
            while let Some(at) = rest.find(call) {
                let after = &rest[at + call.len()..];
                let end = after.find('"').unwrap_or(0);
                found.push(after[..end].to_owned());
                rest = &after[end..];
            }
        }
        found
    }

    #[test]
    fn no_template_shows_words_of_its_own() {
        for (name, template) in sources("src/web/templates", "html") {
            let code = without(
                &without(&without(&template, "{#", "#}"), "{%", "%}"),
                "{{",
                "}}",
            );
            // Words people read inside tags: labels for assistive technology, tooltips.
            for attribute in ["aria-label=\"", "title=\"", "placeholder=\"", "alt=\""] {
                let mut rest = code.as_str();
                while let Some(at) = rest.find(attribute) {
                    let value = &rest[at + attribute.len()..];
                    let end = value.find('"').unwrap_or(value.len());
                    assert!(
                        !value[..end].chars().any(char::is_alphabetic),
                        "{name}: {attribute}…\" holds words of its own: {:?}",
                        &value[..end]
                    );
                    rest = &value[end..];
                }
            }
            let text = without(&code, "<", ">");
            let words: String = text.chars().filter(|c| c.is_alphabetic()).collect();
            assert!(
                words.is_empty(),
                "{name} shows text that is not in the translation files: {:?}",
                text.split_whitespace()
                    .filter(|w| w.chars().any(char::is_alphabetic))
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn every_key_a_page_names_exists() {
        let english = keys(Language::En);
        let mut named = BTreeSet::new();
        for (name, text) in sources("src/web/templates", "html")
            .into_iter()
            .chain(sources("src/web", "rs"))
        {
            for key in named_keys(&text) {
                // Keys built at run time (`format!`) are checked by the tests below.
                if !key.is_empty() && !key.contains('{') {
                    assert!(
                        english.contains(&key),
                        "{name} names {key:?}, which en/*.ftl lacks"
                    );
                    named.insert(key);
                }
            }
        }
        assert!(
            named.len() > 100,
            "the scan finds the pages' keys ({})",
            named.len()
        );
    }

    #[test]
    fn every_word_made_from_data_exists() {
        let english = keys(Language::En);
        let mut wanted: Vec<String> = Vec::new();
        for status in Status::ALL {
            wanted.push(format!("status-{}", status.as_str()));
        }
        wanted.push("event-created".into());
        for action in ActionName::ALL {
            wanted.push(format!("event-{}", action.event_type()));
            if let Some(form) = form_of(action) {
                wanted.push(format!("action-{}-title", action.as_str()));
                wanted.push(format!("action-{}-submit", action.as_str()));
                for field in &form.fields {
                    wanted.push(format!("field-{}-{}", action.as_str(), field.name));
                }
            }
        }
        for word in ["routine", "urgent", "critical"] {
            wanted.push(format!("sensitivity-{word}"));
        }
        for word in ["phone", "email", "meeting", "other"] {
            wanted.push(format!("channel-{word}"));
        }
        for word in ["policy", "technical", "mfa"] {
            wanted.push(format!("poc-role-{word}"));
        }
        for word in ["days", "hours", "name", "email", "phone"] {
            wanted.push(format!("form-part-{word}"));
        }
        for language in Language::ALL {
            wanted.push(format!("language-{}", language.as_str()));
        }
        let missing: Vec<_> = wanted.iter().filter(|k| !english.contains(*k)).collect();
        assert!(missing.is_empty(), "en/*.ftl lacks {missing:?}");
    }
}
