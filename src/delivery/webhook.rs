//! One webhook attempt: a POST of the notification, signed the Standard Webhooks way.

use std::time::Duration;

use reqwest::redirect::Policy;

use super::DeliverySettings;
use super::target::{parse, resolve_and_check};
use crate::store::deliveries::ClaimedDelivery;

/// Why an attempt failed, and whether trying again could help.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: Option<i32>,
    pub error: String,
    /// Trying again cannot help (a refused URL, a bad secret).
    pub permanent: bool,
    /// The receiver answered 410 Gone: the webhook is disabled.
    pub gone: bool,
}

impl Failure {
    pub fn transient(status: Option<i32>, error: String) -> Self {
        Self {
            status,
            error,
            permanent: false,
            gone: false,
        }
    }

    pub fn permanent(status: Option<i32>, error: String) -> Self {
        Self {
            status,
            error,
            permanent: true,
            gone: false,
        }
    }
}

/// An error and its causes, `: `-separated (reqwest says "error sending request" and
/// keeps why in its sources).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// POSTs the delivery's body to its endpoint with `webhook-id` (the delivery's id, the same
/// on every attempt), `webhook-timestamp` and `webhook-signature`. Follows no redirect;
/// connects only to the addresses checked against the SSRF rules.
pub async fn send(
    delivery: &ClaimedDelivery,
    settings: &DeliverySettings,
) -> Result<Option<i32>, Failure> {
    let (Some(url), Some(secret)) = (&delivery.url, &delivery.secret) else {
        return Err(Failure::permanent(
            None,
            "the webhook no longer exists".into(),
        ));
    };
    let url = parse(url).map_err(|e| Failure::permanent(None, e.to_string()))?;
    let addrs = resolve_and_check(&url, settings.allow_private)
        .await
        .map_err(|e| Failure::permanent(None, e.to_string()))?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        // HTTP(S)_PROXY would send the request to the proxy, which resolves the host
        // itself: the checked addresses would no longer be where it goes.
        .no_proxy()
        .redirect(Policy::none())
        .timeout(settings.attempt_timeout)
        .connect_timeout(settings.attempt_timeout.min(Duration::from_secs(5)))
        .resolve_to_addrs(&host, &addrs)
        .user_agent(concat!("cbm2/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::transient(None, format!("cannot build the HTTP client: {e}")))?;
    let signer = standardwebhooks::Webhook::new(secret)
        .map_err(|e| Failure::permanent(None, format!("the webhook's secret is unusable: {e}")))?;
    let timestamp = crate::clock::now().timestamp();
    let msg_id = delivery.id.to_string();
    let signature = signer
        .sign(&msg_id, timestamp, delivery.body.as_bytes())
        .map_err(|e| Failure::permanent(None, format!("cannot sign: {e}")))?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.body.clone())
        .send()
        .await
        .map_err(|e| {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            // Without the URL: logs keep no query string, and the owner knows its URL.
            Failure::transient(
                None,
                format!("the request {kind}: {}", causes(&e.without_url())),
            )
        })?;
    let status = i32::from(response.status().as_u16());
    if response.status().is_success() {
        Ok(Some(status))
    } else if status == 410 {
        Err(Failure {
            status: Some(status),
            error: "410 Gone: the receiver retired this endpoint".into(),
            permanent: true,
            gone: true,
        })
    } else {
        Err(Failure::transient(
            Some(status),
            format!("the receiver answered {status}"),
        ))
    }
}
