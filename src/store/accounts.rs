//! People who use the web UI: Secretariat staff accounts, single-use sign-in links sent to
//! an account's e-mail address, browser sessions, and each person's UI language.
//!
//! A POC signs in with the address the directory holds for it; the Secretariat's people
//! have staff accounts. Secrets (of links and sessions) are 256 random bits, stored as
//! their SHA-256 like tokens. A session stands on a token of its own (label "browser
//! session", whose secret nobody ever sees), so what a person does in a browser is
//! recorded under a token id as an API call is; revoking that token ends the session, and
//! ending the session revokes it.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use super::directory::{Actor, record_directory_event};
use super::tokens::{hash_secret, random_secret};
use super::{BeginWrite, Store, StoreError, dispatch};
use crate::domain::{
    Caller, EmailAddress, Language, LocalPath, MemberStateCode, PersonName, PocId, PocRole,
    Principal,
};

/// How long a sign-in link works after it was sent: long enough to reach a mailbox and be
/// opened, short enough that an old e-mail is worth nothing.
pub const SIGN_IN_LINK_LIFETIME: TimeDelta = TimeDelta::minutes(15);

/// At most this many sign-in links per account in [`SIGN_IN_RATE_WINDOW`]: asking for
/// more sends nothing, so nobody can flood a person's mailbox through the form.
pub const SIGN_IN_LINKS_PER_WINDOW: i64 = 5;

/// The window [`SIGN_IN_LINKS_PER_WINDOW`] counts in.
pub const SIGN_IN_RATE_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// A session unused this long has ended (a browser left open overnight signs in again).
pub const SESSION_IDLE_TIMEOUT: TimeDelta = TimeDelta::hours(12);

/// A session ends this long after it started, however active: sign in again each week.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::days(7);

/// How stale `last_seen_at` may get before authentication writes it again (as a token's
/// `last_used_at`): reads stay reads, and the idle timeout is exact to a minute.
const LAST_SEEN_RESOLUTION: TimeDelta = TimeDelta::minutes(1);

/// How much of a browser's User-Agent is kept, in characters: enough to tell sessions
/// apart, too little to store whatever a client sends.
pub const USER_AGENT_MAX_CHARS: usize = 200;

/// Ended and expired sessions are kept this long (a person's recent sessions), then purged.
const ENDED_SESSION_RETENTION: TimeDelta = TimeDelta::days(30);

/// The label of the token a session stands on, as `cbm2 token list` shows it.
pub const SESSION_TOKEN_LABEL: &str = "browser session";

/// Who signs in: a POC (through the directory's e-mail address) or a staff account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    Poc(PocId),
    Staff(Uuid),
}

impl Account {
    /// The (poc_id, staff_id) pair the tables store, exactly one of them set.
    fn columns(&self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            Account::Poc(id) => (Some(id.0), None),
            Account::Staff(id) => (None, Some(*id)),
        }
    }

    fn from_columns(poc_id: Option<Uuid>, staff_id: Option<Uuid>) -> Result<Self, StoreError> {
        match (poc_id, staff_id) {
            (Some(id), None) => Ok(Account::Poc(PocId(id))),
            (None, Some(id)) => Ok(Account::Staff(id)),
            _ => Err(StoreError::CorruptRow(
                "an account row names both or neither of poc_id and staff_id".into(),
            )),
        }
    }
}

/// A member of the Secretariat who may sign in to the web UI.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffAccount {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

/// Which staff account: by id, or by the e-mail address of the active one.
#[derive(Debug, Clone, Copy)]
pub enum StaffKey<'a> {
    Id(Uuid),
    Email(&'a EmailAddress),
}

/// Why a staff account was not added.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an active staff account already has the e-mail address {0}")]
    DuplicateEmail(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        AccountError::Store(StoreError::Database(error))
    }
}

/// A sign-in link just created; its secret is shown (mailed or printed) this once.
#[derive(Debug, Clone)]
pub struct IssuedSignInLink {
    pub secret: String,
    pub account: Account,
    /// Whom the link signs in as, in English, for operators: "Policy POC of Brazil
    /// (BRA)", "CICTE Secretariat".
    pub label: String,
    /// The POC's role and state (`None` for staff), to label the link in another language.
    pub role: Option<PocRole>,
    pub member_state: Option<MemberStateCode>,
    /// The reader's language: the one they chose, else the POC's first OAS language, else
    /// English.
    pub language: Language,
    pub expires_at: DateTime<Utc>,
}

/// A sign-in link that still works, for the page with the "Continue" button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInLinkInfo {
    pub account: Account,
    pub return_to: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// A session just started; its secret (the cookie) is shown this once.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub secret: String,
    pub session_id: Uuid,
    pub return_to: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Who a session cookie stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCaller {
    pub session_id: Uuid,
    /// As token authentication builds it: the session's own token id, and the principal
    /// (a POC's role and its state's participation as of now).
    pub caller: Caller,
    pub account: Account,
    /// What every form must send back.
    pub csrf_token: String,
    /// The language the person chose, if any.
    pub language: Option<Language>,
    pub name: String,
    pub email: String,
    /// The POC's state (`None` for staff).
    pub member_state: Option<MemberStateCode>,
}

/// One of a person's sessions, for the "your sessions" list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    /// Whether this is the session the list was asked from.
    #[sqlx(skip)]
    pub current: bool,
}

/// What purging removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInPurge {
    pub links: u64,
    pub sessions: u64,
}

/// An active POC a sign-in link may be made for.
#[derive(sqlx::FromRow)]
struct PocCandidate {
    id: Uuid,
    role: String,
    member_state: String,
    state_name: String,
    languages: Json<Vec<String>>,
    language: Option<String>,
}

/// An active staff account a sign-in link may be made for.
#[derive(sqlx::FromRow)]
struct StaffCandidate {
    id: Uuid,
    language: Option<String>,
}

/// What redeeming a link reads about it.
#[derive(sqlx::FromRow)]
struct RedeemedLink {
    poc_id: Option<Uuid>,
    staff_id: Option<Uuid>,
    return_to: Option<String>,
}

/// What session authentication reads: the session, its token, and the account.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    token_id: Uuid,
    poc_id: Option<Uuid>,
    staff_id: Option<Uuid>,
    csrf_token: String,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    token_revoked_at: Option<DateTime<Utc>>,
    poc_active: Option<bool>,
    poc_role: Option<String>,
    member_state: Option<String>,
    participating: Option<bool>,
    poc_name: Option<String>,
    poc_email: Option<String>,
    staff_name: Option<String>,
    staff_email: Option<String>,
    staff_removed_at: Option<DateTime<Utc>>,
    language: Option<String>,
}

const STAFF_COLUMNS: &str = "id, email, name, created_at, removed_at";

/// The OAS language `code` names, if it names one.
fn language_of(code: &str) -> Option<Language> {
    Language::ALL.into_iter().find(|l| l.as_str() == code)
}

/// The first OAS language among a POC's languages, most preferred first.
fn first_oas_language(languages: &[String]) -> Option<Language> {
    languages.iter().find_map(|code| language_of(code))
}

fn parse_role(role: &str) -> Result<PocRole, StoreError> {
    role.parse::<PocRole>()
        .map_err(|e| StoreError::CorruptRow(format!("pocs.role: {e}")))
}

fn parse_state(code: &str) -> Result<MemberStateCode, StoreError> {
    MemberStateCode::parse(code)
        .map_err(|e| StoreError::CorruptRow(format!("pocs.member_state: {e}")))
}

/// "Policy POC of Brazil (BRA)".
fn poc_label(role: PocRole, state_name: &str, code: &MemberStateCode) -> String {
    let role = match role {
        PocRole::Policy => "Policy",
        PocRole::Mfa => "MFA",
        PocRole::Technical => "Technical",
    };
    format!("{role} POC of {state_name} ({code})")
}

/// The first [`USER_AGENT_MAX_CHARS`] characters of a User-Agent.
fn truncate_user_agent(user_agent: &str) -> String {
    user_agent.chars().take(USER_AGENT_MAX_CHARS).collect()
}

impl Store {
    /// Adds a staff account (the Secretariat's people sign in with it) and logs it as a
    /// `staff_added` directory event. Refused if an active account has the address, in
    /// any case.
    pub async fn add_staff(
        &self,
        actor: Actor<'_>,
        email: &EmailAddress,
        name: &PersonName,
        now: DateTime<Utc>,
    ) -> Result<StaffAccount, AccountError> {
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO staff_accounts ({STAFF_COLUMNS}) VALUES ($1, $2, $3, $4, NULL)
             RETURNING {STAFF_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            // Checked in the transaction that inserts (SQLite's writers are serialized;
            // on PostgreSQL the unique index decides a race, answered the same below).
            let taken: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM staff_accounts
                  WHERE lower(email) = lower($1) AND removed_at IS NULL",
            )
            .bind(email.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if taken > 0 {
                return Err(AccountError::DuplicateEmail(email.as_str().to_owned()));
            }
            let account: StaffAccount = match sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(email.as_str())
                .bind(name.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await
            {
                Ok(account) => account,
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(AccountError::DuplicateEmail(email.as_str().to_owned()));
                }
                Err(e) => return Err(e.into()),
            };
            let payload = json!({ "email": email, "name": name });
            record_directory_event!(tx, actor, now, "staff_added", id.to_string(), payload);
            tx.commit().await?;
            Ok(account)
        })
    }

    /// The staff accounts, by e-mail address; removed ones too if `include_removed`.
    pub async fn list_staff(&self, include_removed: bool) -> Result<Vec<StaffAccount>, StoreError> {
        let sql = format!(
            "SELECT {STAFF_COLUMNS} FROM staff_accounts
              WHERE removed_at IS NULL OR $1
              ORDER BY lower(email), created_at, id"
        );
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(include_removed)
            .fetch_all(pool)
            .await?),
        )
    }

    /// Removes the active staff account `key` names: it can no longer sign in, its
    /// sessions end (and their tokens are revoked), and a `staff_removed` directory event
    /// is logged. `None` if no active account matches.
    pub async fn remove_staff(
        &self,
        actor: Actor<'_>,
        key: StaffKey<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffAccount>, StoreError> {
        let _forget = self.owners_changing();
        let (by_id, by_email) = match key {
            StaffKey::Id(id) => (Some(id), None),
            StaffKey::Email(email) => (None, Some(email.as_str())),
        };
        let sql = format!(
            "UPDATE staff_accounts SET removed_at = $3
              WHERE removed_at IS NULL
                AND (id = $1 OR lower(email) = lower($2))
             RETURNING {STAFF_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let removed: Option<StaffAccount> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(by_id)
                .bind(by_email)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(removed) = removed else { return Ok(None) };
            sqlx::query(
                "UPDATE tokens SET revoked_at = $2
                  WHERE revoked_at IS NULL
                    AND id IN (SELECT token_id FROM web_sessions
                                WHERE staff_id = $1 AND ended_at IS NULL)",
            )
            .bind(removed.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE web_sessions SET ended_at = $2 WHERE staff_id = $1 AND ended_at IS NULL")
                .bind(removed.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            record_directory_event!(tx, actor, now, "staff_removed", removed.id.to_string(), json!({}));
            tx.commit().await?;
            Ok(Some(removed))
        })
    }

    /// One link per active account whose e-mail is `email` (case-insensitive): active
    /// POCs and active staff. Empty when there is none, and leaves out an account that
    /// already had [`SIGN_IN_LINKS_PER_WINDOW`] links in the last [`SIGN_IN_RATE_WINDOW`]
    /// (counted in the transaction that inserts, so concurrent requests cannot pass it).
    /// The caller cannot tell the two apart, so a form answering from this says nothing of
    /// who has an account. `return_to` is kept only if it is a [`LocalPath`]: a link never
    /// leads to another site, whatever a crafted form asked.
    pub async fn create_sign_in_links(
        &self,
        email: &EmailAddress,
        return_to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<IssuedSignInLink>, StoreError> {
        let return_to = return_to.and_then(|path| LocalPath::parse(path).ok());
        let expires_at = now + SIGN_IN_LINK_LIFETIME;
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let pocs: Vec<PocCandidate> = sqlx::query_as(
                "SELECT p.id, p.role, p.member_state, m.name_en AS state_name, p.languages,
                        ap.language
                   FROM pocs p JOIN member_states m ON m.code = p.member_state
                        LEFT JOIN account_preferences ap ON ap.poc_id = p.id
                  WHERE lower(p.email) = lower($1) AND p.active
                  ORDER BY p.member_state, p.role, p.id",
            )
            .bind(email.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let staff: Vec<StaffCandidate> = sqlx::query_as(
                "SELECT a.id, ap.language
                   FROM staff_accounts a LEFT JOIN account_preferences ap ON ap.staff_id = a.id
                  WHERE lower(a.email) = lower($1) AND a.removed_at IS NULL",
            )
            .bind(email.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let mut candidates = Vec::new();
            for poc in pocs {
                let role = parse_role(&poc.role)?;
                let code = parse_state(&poc.member_state)?;
                let language = poc
                    .language
                    .as_deref()
                    .and_then(language_of)
                    .or_else(|| first_oas_language(&poc.languages.0))
                    .unwrap_or_default();
                candidates.push((
                    Account::Poc(PocId(poc.id)),
                    poc_label(role, &poc.state_name, &code),
                    Some(role),
                    Some(code),
                    language,
                ));
            }
            for account in staff {
                let language = account.language.as_deref().and_then(language_of).unwrap_or_default();
                candidates.push((Account::Staff(account.id), "CICTE Secretariat".to_owned(), None, None, language));
            }
            let mut issued = Vec::new();
            for (account, label, role, member_state, language) in candidates {
                let (poc_id, staff_id) = account.columns();
                // On PostgreSQL, two requests for one account would each count the other's
                // link as not there yet: the account's row lock makes the second count
                // after the first commits. (SQLite's write transaction already serializes.)
                let table = if poc_id.is_some() { "pocs" } else { "staff_accounts" };
                let lock = format!("SELECT id FROM {table} WHERE id = $1{}", pool.lock_suffix());
                sqlx::query(sqlx::AssertSqlSafe(lock))
                    .bind(poc_id.or(staff_id))
                    .execute(&mut *tx)
                    .await?;
                let recent: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM sign_in_links
                      WHERE (poc_id = $1 OR staff_id = $2) AND created_at > $3",
                )
                .bind(poc_id)
                .bind(staff_id)
                .bind(now - SIGN_IN_RATE_WINDOW)
                .fetch_one(&mut *tx)
                .await?;
                if recent >= SIGN_IN_LINKS_PER_WINDOW {
                    continue;
                }
                let secret = random_secret().map_err(StoreError::Randomness)?;
                sqlx::query(
                    "INSERT INTO sign_in_links
                         (id, secret_hash, poc_id, staff_id, return_to, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(Uuid::now_v7())
                .bind(hash_secret(&secret))
                .bind(poc_id)
                .bind(staff_id)
                .bind(return_to.as_ref().map(LocalPath::as_str))
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                issued.push(IssuedSignInLink { secret, account, label, role, member_state, language, expires_at });
            }
            tx.commit().await?;
            Ok(issued)
        })
    }

    /// The link `secret` names if it still works (unused, unexpired, its account still
    /// active), for the page with the "Continue" button. Does not consume it: mail
    /// scanners that open links must not use them up.
    pub async fn peek_sign_in_link(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SignInLinkInfo>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            poc_id: Option<Uuid>,
            staff_id: Option<Uuid>,
            return_to: Option<String>,
            expires_at: DateTime<Utc>,
        }
        let row: Option<Row> = dispatch!(self, pool => sqlx::query_as(
            "SELECT l.poc_id, l.staff_id, l.return_to, l.expires_at
               FROM sign_in_links l
                    LEFT JOIN pocs p ON p.id = l.poc_id
                    LEFT JOIN staff_accounts a ON a.id = l.staff_id
              WHERE l.secret_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2
                AND ((p.id IS NOT NULL AND p.active)
                     OR (a.id IS NOT NULL AND a.removed_at IS NULL))",
        )
        .bind(hash_secret(secret))
        .bind(now)
        .fetch_optional(pool)
        .await?);
        row.map(|row| {
            Ok(SignInLinkInfo {
                account: Account::from_columns(row.poc_id, row.staff_id)?,
                return_to: row.return_to,
                expires_at: row.expires_at,
            })
        })
        .transpose()
    }

    /// Consumes the link `secret` names and starts a session for its account: `None` if
    /// the link is unknown, used, expired, or its account is no longer active. Single use
    /// even under concurrent redeems: the link is marked used by a conditional UPDATE in
    /// the transaction that starts the session, so exactly one of them starts one.
    pub async fn redeem_sign_in_link(
        &self,
        secret: &str,
        user_agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<IssuedSession>, StoreError> {
        let session_secret = random_secret().map_err(StoreError::Randomness)?;
        let csrf_token = random_secret().map_err(StoreError::Randomness)?;
        // The session's token is never presented: its secret is thrown away at once, so
        // the token row can be revoked and named but never used as a bearer token.
        let token_hash = hash_secret(&random_secret().map_err(StoreError::Randomness)?);
        let session_id = Uuid::now_v7();
        let token_id = Uuid::now_v7();
        let expires_at = now + SESSION_LIFETIME;
        let user_agent = user_agent.map(truncate_user_agent);
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let link: Option<RedeemedLink> = sqlx::query_as(
                "UPDATE sign_in_links SET used_at = $2
                  WHERE secret_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING poc_id, staff_id, return_to",
            )
            .bind(hash_secret(secret))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(link) = link else { return Ok(None) };
            let account = Account::from_columns(link.poc_id, link.staff_id)?;
            let active = match account {
                Account::Poc(id) => sqlx::query_scalar::<_, bool>("SELECT active FROM pocs WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .unwrap_or(false),
                Account::Staff(id) => sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM staff_accounts WHERE id = $1 AND removed_at IS NULL",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                    > 0,
            };
            if !active {
                // Rolled back: the link stays as it was, and is useless while its account
                // is inactive.
                return Ok(None);
            }
            let (poc_id, staff_id) = account.columns();
            let kind = if poc_id.is_some() { "poc" } else { "secretariat" };
            sqlx::query(
                "INSERT INTO tokens (id, token_hash, kind, poc_id, label, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(token_id)
            .bind(&token_hash)
            .bind(kind)
            .bind(poc_id)
            .bind(SESSION_TOKEN_LABEL)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO web_sessions (id, secret_hash, token_id, poc_id, staff_id, csrf_token,
                                           created_at, last_seen_at, expires_at, user_agent)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)",
            )
            .bind(session_id)
            .bind(hash_secret(&session_secret))
            .bind(token_id)
            .bind(poc_id)
            .bind(staff_id)
            .bind(&csrf_token)
            .bind(now)
            .bind(expires_at)
            .bind(user_agent.as_deref())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(IssuedSession {
                secret: session_secret,
                session_id,
                return_to: link.return_to,
                expires_at,
            }))
        })
    }

    /// Who the session cookie `secret` stands for: `None` when the session is unknown,
    /// ended, idle for [`SESSION_IDLE_TIMEOUT`], past its [`SESSION_LIFETIME`], its token
    /// revoked, its POC deactivated or its staff account removed. Writes `last_seen_at`
    /// at most once a minute.
    pub async fn authenticate_session(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionCaller>, StoreError> {
        let row: Option<SessionRow> = dispatch!(self, pool => sqlx::query_as(
            "SELECT s.id, s.token_id, s.poc_id, s.staff_id, s.csrf_token, s.last_seen_at,
                    s.expires_at, s.ended_at, t.revoked_at AS token_revoked_at,
                    p.active AS poc_active, p.role AS poc_role, p.member_state,
                    m.participating, p.name AS poc_name, p.email AS poc_email,
                    a.name AS staff_name, a.email AS staff_email,
                    a.removed_at AS staff_removed_at, ap.language
               FROM web_sessions s JOIN tokens t ON t.id = s.token_id
                    LEFT JOIN pocs p ON p.id = s.poc_id
                    LEFT JOIN member_states m ON m.code = p.member_state
                    LEFT JOIN staff_accounts a ON a.id = s.staff_id
                    LEFT JOIN account_preferences ap
                           ON ap.poc_id = s.poc_id OR ap.staff_id = s.staff_id
              WHERE s.secret_hash = $1",
        )
        .bind(hash_secret(secret))
        .fetch_optional(pool)
        .await?);
        let Some(row) = row else { return Ok(None) };
        if row.ended_at.is_some()
            || row.token_revoked_at.is_some()
            || now >= row.expires_at
            || now - row.last_seen_at >= SESSION_IDLE_TIMEOUT
        {
            return Ok(None);
        }
        let account = Account::from_columns(row.poc_id, row.staff_id)?;
        let (principal, name, email, member_state) = match account {
            Account::Poc(poc_id) => {
                let (Some(true), Some(role), Some(code), Some(name), Some(email)) = (
                    row.poc_active,
                    row.poc_role,
                    row.member_state,
                    row.poc_name,
                    row.poc_email,
                ) else {
                    return Ok(None);
                };
                let member_state = parse_state(&code)?;
                let principal = Principal::Poc {
                    poc_id,
                    member_state: member_state.clone(),
                    role: parse_role(&role)?,
                    participating: row.participating.unwrap_or(false),
                };
                (principal, name, email, Some(member_state))
            }
            Account::Staff(_) => {
                let (None, Some(name), Some(email)) =
                    (row.staff_removed_at, row.staff_name, row.staff_email)
                else {
                    return Ok(None);
                };
                (Principal::Secretariat, name, email, None)
            }
        };
        if now - row.last_seen_at >= LAST_SEEN_RESOLUTION {
            // The session's token too, so `cbm2 token list` says when it was last used.
            dispatch!(self, pool => {
                let mut tx = self.writes(pool).begin_write().await?;
                sqlx::query("UPDATE web_sessions SET last_seen_at = $2 WHERE id = $1")
                    .bind(row.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE tokens SET last_used_at = $2 WHERE id = $1")
                    .bind(row.token_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            });
        }
        Ok(Some(SessionCaller {
            session_id: row.id,
            caller: Caller {
                token_id: row.token_id,
                principal,
            },
            account,
            csrf_token: row.csrf_token,
            language: row.language.as_deref().and_then(language_of),
            name,
            email,
            member_state,
        }))
    }

    /// Ends one of `account`'s own sessions (signing out, or from the sessions list) and
    /// revokes its token. `false` if `account` has no such session still running.
    pub async fn end_session(
        &self,
        account: &Account,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _forget = self.owners_changing();
        let (poc_id, staff_id) = account.columns();
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let token_id: Option<Uuid> = sqlx::query_scalar(
                "UPDATE web_sessions SET ended_at = $4
                  WHERE id = $1 AND (poc_id = $2 OR staff_id = $3) AND ended_at IS NULL
                 RETURNING token_id",
            )
            .bind(session_id)
            .bind(poc_id)
            .bind(staff_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(token_id) = token_id else { return Ok(false) };
            sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(token_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// `account`'s sessions that still work, newest first; `current` marks the one asking.
    pub async fn list_sessions(
        &self,
        account: &Account,
        current: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let (poc_id, staff_id) = account.columns();
        let mut sessions: Vec<SessionRecord> = dispatch!(self, pool => sqlx::query_as(
            "SELECT s.id, s.created_at, s.last_seen_at, s.expires_at, s.user_agent
               FROM web_sessions s JOIN tokens t ON t.id = s.token_id
              WHERE (s.poc_id = $1 OR s.staff_id = $2)
                AND s.ended_at IS NULL AND t.revoked_at IS NULL
                AND s.expires_at > $3 AND s.last_seen_at > $4
              ORDER BY s.created_at DESC, s.id DESC",
        )
        .bind(poc_id)
        .bind(staff_id)
        .bind(now)
        .bind(now - SESSION_IDLE_TIMEOUT)
        .fetch_all(pool)
        .await?);
        for session in &mut sessions {
            session.current = Some(session.id) == current;
        }
        Ok(sessions)
    }

    /// Sets (or, with `None`, forgets) the UI language `account` chose.
    pub async fn set_language_preference(
        &self,
        account: &Account,
        language: Option<Language>,
    ) -> Result<(), StoreError> {
        let (poc_id, staff_id) = account.columns();
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            sqlx::query("DELETE FROM account_preferences WHERE poc_id = $1 OR staff_id = $2")
                .bind(poc_id)
                .bind(staff_id)
                .execute(&mut *tx)
                .await?;
            if let Some(language) = language {
                sqlx::query("INSERT INTO account_preferences (poc_id, staff_id, language) VALUES ($1, $2, $3)")
                    .bind(poc_id)
                    .bind(staff_id)
                    .bind(language.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The UI language `account` chose, if any.
    pub async fn language_preference(
        &self,
        account: &Account,
    ) -> Result<Option<Language>, StoreError> {
        let (poc_id, staff_id) = account.columns();
        let code: Option<String> = dispatch!(self, pool => sqlx::query_scalar(
            "SELECT language FROM account_preferences WHERE poc_id = $1 OR staff_id = $2",
        )
        .bind(poc_id)
        .bind(staff_id)
        .fetch_optional(pool)
        .await?);
        Ok(code.as_deref().and_then(language_of))
    }

    /// Deletes sign-in links past their expiry (used or not: the rate limit counts only
    /// links created in its window, which have not expired yet) and sessions ended or expired more than 30 days ago. Their
    /// tokens stay: events name them.
    pub async fn purge_expired_sign_in(
        &self,
        now: DateTime<Utc>,
    ) -> Result<SignInPurge, StoreError> {
        dispatch!(self, pool => {
            let links = sqlx::query("DELETE FROM sign_in_links WHERE expires_at <= $1")
                .bind(now)
                .execute(self.writes(pool))
                .await?
                .rows_affected();
            let sessions = sqlx::query(
                "DELETE FROM web_sessions
                  WHERE expires_at <= $1 OR ended_at <= $1 OR last_seen_at <= $2",
            )
            .bind(now - ENDED_SESSION_RETENTION)
            .bind(now - ENDED_SESSION_RETENTION - SESSION_IDLE_TIMEOUT)
            .execute(self.writes(pool))
            .await?
            .rows_affected();
            Ok(SignInPurge { links, sessions })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_agent_is_cut_at_200_characters_not_bytes() {
        let long = "é".repeat(300);
        assert_eq!(
            truncate_user_agent(&long).chars().count(),
            USER_AGENT_MAX_CHARS
        );
        assert_eq!(truncate_user_agent("Firefox"), "Firefox");
    }

    #[test]
    fn a_pocs_first_oas_language_is_the_first_it_lists_that_the_ui_speaks() {
        let langs = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            first_oas_language(&langs(&["de", "pt", "en"])),
            Some(Language::Pt)
        );
        assert_eq!(first_oas_language(&langs(&["de"])), None);
    }

    #[test]
    fn a_poc_link_is_labelled_with_its_role_and_state() {
        let code = MemberStateCode::parse("BRA").unwrap();
        assert_eq!(
            poc_label(PocRole::Policy, "Brazil", &code),
            "Policy POC of Brazil (BRA)"
        );
    }
}
