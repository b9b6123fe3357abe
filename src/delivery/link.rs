//! The links each notification carries, under `CBM2_PUBLIC_URL`, to the inquiry, the
//! communication check or the POC record it is about: `link`, the API's resource (for
//! machines), and `page`, its page in the web UI (what an e-mail links to: a person opens
//! it, signs in if needed, and lands on it).

use serde_json::Value;

/// The page a sign-in link opens: `{public_url}/sign-in/{secret}`, whose "Continue" button
/// redeems it (the web UI serves it).
pub fn sign_in_link(public_url: &str, secret: &str) -> String {
    format!("{}/sign-in/{secret}", public_url.trim_end_matches('/'))
}

/// Where a notification whose `data` is `data` links to, if anywhere.
pub fn link(public_url: &str, data: &Value) -> Option<String> {
    let base = public_url.trim_end_matches('/');
    if let Some(id) = data["inquiry_id"].as_str() {
        Some(format!("{base}/v1/inquiries/{id}"))
    } else if let Some(id) = data["check_id"].as_str() {
        Some(format!("{base}/v1/communication-checks/{id}"))
    } else {
        data["poc_id"]
            .as_str()
            .map(|id| format!("{base}/v1/pocs/{id}"))
    }
}

/// The web page of what a notification whose `data` is `data` is about, if any.
pub fn page(public_url: &str, data: &Value) -> Option<String> {
    let base = public_url.trim_end_matches('/');
    if let Some(id) = data["inquiry_id"].as_str() {
        Some(format!("{base}/inquiries/{id}"))
    } else if let Some(id) = data["check_id"].as_str() {
        Some(format!("{base}/checks/{id}"))
    } else {
        data["poc_id"]
            .as_str()
            .map(|id| format!("{base}/directory/pocs/{id}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_kind_of_notice_links_to_what_it_is_about() {
        let base = "https://cbm2.example.org/";
        assert_eq!(
            link(base, &json!({"inquiry_id": "i1", "poc_id": "p"})).as_deref(),
            Some("https://cbm2.example.org/v1/inquiries/i1")
        );
        assert_eq!(
            link(base, &json!({"check_id": "c1"})).as_deref(),
            Some("https://cbm2.example.org/v1/communication-checks/c1")
        );
        assert_eq!(
            link(base, &json!({"poc_id": "p1"})).as_deref(),
            Some("https://cbm2.example.org/v1/pocs/p1")
        );
        assert_eq!(link(base, &json!({"webhook_id": "w"})), None);
        assert_eq!(
            page(base, &json!({"inquiry_id": "i1", "poc_id": "p"})).as_deref(),
            Some("https://cbm2.example.org/inquiries/i1")
        );
        assert_eq!(
            page(base, &json!({"check_id": "c1"})).as_deref(),
            Some("https://cbm2.example.org/checks/c1")
        );
        assert_eq!(
            page(base, &json!({"poc_id": "p1"})).as_deref(),
            Some("https://cbm2.example.org/directory/pocs/p1")
        );
        assert_eq!(page(base, &json!({"webhook_id": "w"})), None);
    }
}
