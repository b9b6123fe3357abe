//! One e-mail attempt, through SMTP (lettre).

use std::time::Duration;

use lettre::message::header::{ContentDisposition, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::webhook::Failure;
use crate::domain::{EmailAddress, TimeZone};
use crate::store::accounts::IssuedSignInLink;
use crate::store::deliveries::ClaimedDelivery;

/// An SMTP relay and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    url_for_logs: String,
    timeout: Duration,
}

/// How long one e-mail attempt may take, by default: a relay that accepts the connection
/// and never answers holds its slots no longer than this.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.url_for_logs)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the SMTP settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("CBM2_SMTP_URL is not a usable SMTP URL: {0}")]
    Url(String),
    #[error("CBM2_MAIL_FROM is not an e-mail address: {0}")]
    From(String),
}

impl Mailer {
    /// From `CBM2_SMTP_URL` as lettre reads it (`smtps://host` implicit TLS,
    /// `smtp://host:587?tls=required` STARTTLS, `smtp://host:25` plain) and `CBM2_MAIL_FROM`.
    /// Each attempt may take [`DEFAULT_SMTP_TIMEOUT`].
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, MailerError> {
        Self::with_timeout(smtp_url, from, DEFAULT_SMTP_TIMEOUT)
    }

    /// Like [`Mailer::new`], each attempt taking at most `timeout` (lettre's limit on each
    /// read and write, and the worker's on the whole attempt).
    pub fn with_timeout(
        smtp_url: &str,
        from: &str,
        timeout: Duration,
    ) -> Result<Self, MailerError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| MailerError::Url(e.to_string()))?
            .timeout(Some(timeout))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailerError::From(e.to_string()))?;
        // Never log a password the URL may carry.
        let url_for_logs = match url::Url::parse(smtp_url) {
            Ok(mut url) => {
                let _ = url.set_password(None);
                url.to_string()
            }
            Err(_) => "(unparsable)".into(),
        };
        Ok(Self {
            transport,
            from,
            url_for_logs,
            timeout,
        })
    }

    /// How long one attempt may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The relay, without credentials, for logs.
    pub fn describe(&self) -> &str {
        &self.url_for_logs
    }
}

/// Sends the notification to the delivery's address.
pub async fn send(
    mailer: &Mailer,
    delivery: &ClaimedDelivery,
    state_zones: Option<crate::store::StateZones>,
) -> Result<Option<i32>, Failure> {
    let Some(to) = &delivery.email_to else {
        return Err(Failure::permanent(None, "no address to send to".into()));
    };
    let to: Mailbox = to
        .parse()
        .map_err(|e| Failure::permanent(None, format!("bad address {to:?}: {e}")))?;
    let reader = super::email_templates::Reader {
        languages: delivery
            .languages
            .as_ref()
            .map(|l| l.0.clone())
            .unwrap_or_default(),
        // A zone the database holds but this build does not know (an older tz database)
        // shows UTC rather than failing the e-mail.
        time_zone: delivery
            .time_zone
            .as_deref()
            .and_then(|zone| TimeZone::parse(zone).ok()),
        state_zones,
    };
    let rendered = super::email_templates::render(&delivery.body, &reader)
        .map_err(|e| Failure::permanent(None, format!("cannot render the e-mail: {e}")))?;
    let body = MultiPart::alternative_plain_html(rendered.text, rendered.html);
    let builder = Message::builder().from(mailer.from.clone()).to(to);
    let message = match &delivery.openpgp_key {
        // The POC published a key: the whole body goes encrypted to it (RFC 3156), under a
        // subject that names no state (headers travel in the clear).
        Some(armored) => {
            let key = crate::openpgp::RecipientKey::read(armored, crate::clock::now()).map_err(
                |why| {
                    Failure::permanent(
                        None,
                        format!(
                            "the recipient's OpenPGP key {why}: update it (PATCH /v1/pocs/{{id}}) \
                             or remove it; nothing was sent in the clear"
                        ),
                    )
                },
            )?;
            let encrypted = key
                .encrypt(&body.formatted())
                .map_err(|why| Failure::permanent(None, why))?;
            builder
                .subject(rendered.neutral_subject)
                .multipart(pgp_mime(encrypted))
        }
        None => builder.subject(rendered.subject).multipart(body),
    }
    .map_err(|e| Failure::permanent(None, format!("cannot build the e-mail: {e}")))?;
    match mailer.transport.send(message).await {
        Ok(response) => Ok(Some(i32::from(
            response.code().to_string().parse::<u16>().unwrap_or(250),
        ))),
        // 4xx and 5xx alike are retried (a relay's 5xx is often a passing policy refusal);
        // after the last attempt the delivery is failed, and counted in the summary.
        Err(error) => {
            let status = error
                .status()
                .and_then(|code| code.to_string().parse::<i32>().ok());
            Err(Failure::transient(status, format!("SMTP failed: {error}")))
        }
    }
}

/// A PGP/MIME message (RFC 3156, section 4): the version part, then the armored message.
fn pgp_mime(armored: String) -> MultiPart {
    MultiPart::encrypted("application/pgp-encrypted".to_owned())
        .singlepart(
            SinglePart::builder()
                .header(ContentType::parse("application/pgp-encrypted").expect("a valid type"))
                .body("Version: 1\r\n".to_owned()),
        )
        .singlepart(
            SinglePart::builder()
                .header(
                    ContentType::parse("application/octet-stream; name=\"encrypted.asc\"")
                        .expect("a valid type"),
                )
                .header(ContentDisposition::inline_with_name("encrypted.asc"))
                .body(armored),
        )
}

/// Why a sign-in e-mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SignInMailError {
    #[error("there is no sign-in link to send")]
    NoLinks,
    #[error("cannot build the sign-in e-mail: {0}")]
    Build(String),
    #[error("SMTP failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("the SMTP relay did not take the sign-in e-mail within {0:?}")]
    Timeout(Duration),
}

/// Sends `links` (one per account `to` has) to `to` in one e-mail, in the reader's
/// language, now (not through the outbox: a link is worth something for 15 minutes, and
/// the person is waiting for it). The whole attempt takes at most the mailer's timeout.
pub async fn send_sign_in_mail(
    mailer: &Mailer,
    to: &EmailAddress,
    links: &[IssuedSignInLink],
    public_url: &str,
) -> Result<(), SignInMailError> {
    if links.is_empty() {
        return Err(SignInMailError::NoLinks);
    }
    let rendered = super::email_templates::render_sign_in(links, public_url)
        .map_err(SignInMailError::Build)?;
    let to: Mailbox = to
        .as_str()
        .parse()
        .map_err(|e: lettre::address::AddressError| SignInMailError::Build(e.to_string()))?;
    let message = Message::builder()
        .from(mailer.from.clone())
        .to(to)
        .subject(rendered.subject)
        .multipart(MultiPart::alternative_plain_html(
            rendered.text,
            rendered.html,
        ))
        .map_err(|e| SignInMailError::Build(e.to_string()))?;
    tokio::time::timeout(mailer.timeout, mailer.transport.send(message))
        .await
        .map_err(|_| SignInMailError::Timeout(mailer.timeout))??;
    Ok(())
}
