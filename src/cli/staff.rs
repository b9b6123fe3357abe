//! `cbm2 staff add|list|remove` (the Secretariat's people who sign in to the web UI) and
//! `cbm2 login-link` (a sign-in link printed for an operator to hand over where no SMTP
//! relay is configured).

use std::fmt::Display;

use clap::{Args, Subcommand};
use uuid::Uuid;

use super::outln;
use crate::clock;
use crate::delivery::link::sign_in_link;
use crate::domain::{EmailAddress, LocalPath, PersonName};
use crate::store::Store;
use crate::store::accounts::{AccountError, SIGN_IN_LINKS_PER_WINDOW, StaffKey};
use crate::store::directory::Actor;

#[derive(Debug, Clone, Subcommand)]
pub enum StaffCommand {
    /// Add a Secretariat staff account, who may then sign in to the web UI with a link
    /// sent to this address; prints its id, alone, on stdout.
    Add(StaffAddArgs),
    /// Print the staff accounts as a table: e-mail, name, added, status, id.
    List {
        /// Include removed accounts.
        #[arg(long)]
        all: bool,
    },
    /// Remove a staff account: it can no longer sign in, and its browser sessions end now.
    Remove {
        /// The account's id, or the e-mail address of the active account.
        #[arg(value_name = "EMAIL_OR_ID")]
        account: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct StaffAddArgs {
    /// The address sign-in links are sent to (one active account per address).
    #[arg(long, value_parser = domain::<EmailAddress>)]
    pub email: EmailAddress,
    /// The person's name, as pages greet them.
    #[arg(long, value_parser = domain::<PersonName>)]
    pub name: PersonName,
}

#[derive(Debug, Clone, Args)]
pub struct LoginLinkArgs {
    /// The e-mail address of an active POC (as the directory holds it) or staff account.
    /// A POC with several roles under one address gets one link per role.
    #[arg(long, value_parser = domain::<EmailAddress>)]
    pub email: EmailAddress,
    /// The page to show after signing in: a path on this site, starting with one "/"
    /// (e.g. /inquiries/0193…).
    #[arg(long, value_name = "PATH", value_parser = domain::<LocalPath>)]
    pub return_to: Option<LocalPath>,
    /// The base of the link, as `serve` uses it (default: http://BIND).
    #[arg(long, env = "CBM2_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Where `serve` listens, for the default of --public-url.
    #[arg(long, env = "CBM2_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
}

fn domain<T: TryFrom<String, Error: Display>>(value: &str) -> Result<T, String> {
    T::try_from(value.to_owned()).map_err(|e| e.to_string())
}

pub(super) async fn run(store: &Store, command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::Add(args) => {
            let account = store
                .add_staff(Actor::CommandLine, &args.email, &args.name, clock::now())
                .await
                .map_err(|error| match error {
                    AccountError::DuplicateEmail(email) => anyhow::anyhow!(
                        "an active staff account already has the e-mail address {email} \
                         (`cbm2 staff list` shows it); remove it first to replace it"
                    ),
                    AccountError::Store(error) => error.into(),
                })?;
            eprintln!("added staff account {} ({})", account.email, account.name);
            outln!("{}", account.id)?;
        }
        StaffCommand::List { all } => {
            outln!(
                "{:<40}  {:<30}  {:<20}  {:<8}  ID",
                "E-MAIL",
                "NAME",
                "ADDED",
                "STATUS"
            )?;
            for account in store.list_staff(all).await? {
                let status = if account.removed_at.is_some() {
                    "removed"
                } else {
                    "active"
                };
                outln!(
                    "{:<40}  {:<30}  {:<20}  {:<8}  {}",
                    account.email,
                    account.name,
                    account
                        .created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    status,
                    account.id
                )?;
            }
        }
        StaffCommand::Remove { account } => {
            let email;
            let key = if let Ok(id) = Uuid::parse_str(&account) {
                StaffKey::Id(id)
            } else {
                email = EmailAddress::parse(&account).map_err(|e| {
                    anyhow::anyhow!(
                        "staff remove takes an account's id (a UUID) or its e-mail address; \
                         {account:?} is neither: the address {e}"
                    )
                })?;
                StaffKey::Email(&email)
            };
            match store
                .remove_staff(Actor::CommandLine, key, clock::now())
                .await?
            {
                Some(removed) => {
                    eprintln!("removed staff account {} ({})", removed.email, removed.id)
                }
                None => anyhow::bail!(
                    "no active staff account is {account}; `cbm2 staff list` shows them"
                ),
            }
        }
    }
    Ok(())
}

/// `cbm2 login-link`: one line per link, `URL  LABEL`.
pub(super) async fn login_link(store: &Store, args: LoginLinkArgs) -> anyhow::Result<()> {
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{}", args.bind));
    let links = store
        .create_sign_in_links(
            &args.email,
            args.return_to.as_ref().map(LocalPath::as_str),
            clock::now(),
        )
        .await?;
    if links.is_empty() {
        // The store cannot tell these apart (the web form must not); the operator can.
        let has_account = store
            .pocs_with_email(args.email.as_str())
            .await?
            .iter()
            .any(|poc| poc.active)
            || store
                .list_staff(false)
                .await?
                .iter()
                .any(|a| a.email.to_lowercase() == args.email.as_str().to_lowercase());
        if has_account {
            anyhow::bail!(
                "no link for {}: its accounts already had {} sign-in links in the last 15 \
                 minutes; wait a few minutes and retry",
                args.email.as_str(),
                SIGN_IN_LINKS_PER_WINDOW
            );
        }
        anyhow::bail!(
            "no active POC or staff account has the e-mail address {}; `cbm2 poc list` and \
             `cbm2 staff list` show who has one",
            args.email.as_str()
        );
    }
    for link in &links {
        outln!(
            "{}  {}",
            sign_in_link(&public_url, &link.secret),
            link.label
        )?;
    }
    eprintln!(
        "{} sign-in link(s), each usable once, until {}",
        links.len(),
        links[0]
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(())
}
