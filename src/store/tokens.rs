//! Bearer tokens: created shown-once, stored as a SHA-256 hash, revocable.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::directory::{Actor, DirectoryError, record_directory_event};
use super::listened::Recall;
use super::{BeginWrite, Store, StoreError, dispatch};
use crate::domain::{Caller, Label, MemberStateCode, PocId, PocRole, Principal};
use crate::protocol::Inquiry;

/// Every token starts with this, so a leaked one is recognisable (secret scanners, logs).
const TOKEN_PREFIX: &str = "cbm2_";

/// How stale `last_used_at` may get before authentication writes it again: often enough
/// to tell an operator which tokens are in use, rarely enough that reads stay reads.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::minutes(1);

/// Whom a new token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    Secretariat,
    Poc(PocId),
}

/// A token as stored (without the secret, which is never stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: Uuid,
    pub kind: String,
    pub poc_id: Option<Uuid>,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just created: its record and the secret, which is shown this once.
#[derive(Debug)]
pub struct IssuedToken {
    pub record: TokenRecord,
    pub secret: String,
}

/// What authentication reads about a token.
#[derive(sqlx::FromRow, Clone, Debug)]
#[cfg_attr(test, derive(PartialEq))]
pub(super) struct TokenOwnerRow {
    pub(super) id: Uuid,
    pub(super) poc_id: Option<Uuid>,
    pub(super) member_state: Option<String>,
    pub(super) poc_active: Option<bool>,
    pub(super) poc_role: Option<String>,
    pub(super) participating: Option<bool>,
    pub(super) last_used_at: Option<DateTime<Utc>>,
    pub(super) inquiry_state: Option<String>,
}

/// What authentication reads, in one query: the token by the hash of its secret (unless
/// revoked), its POC and the POC's state, and the stored state of the inquiry `$2` (of any
/// owner: the caller checks who may see it), in [`TokenOwnerRow`]'s order.
pub(super) const TOKEN_OWNER_QUERY: &str =
    "SELECT t.id, t.poc_id, p.member_state, p.active AS poc_active, p.role AS poc_role,
            m.participating, t.last_used_at,
            (SELECT i.state FROM inquiries i WHERE i.id = $2) AS inquiry_state
       FROM tokens t LEFT JOIN pocs p ON p.id = t.poc_id
            LEFT JOIN member_states m ON m.code = p.member_state
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL";

/// 256 random bits from the operating system, URL-safe base64, with the cbm2 prefix.
fn generate_secret() -> Result<String, getrandom::Error> {
    Ok(format!("{TOKEN_PREFIX}{}", random_secret()?))
}

/// 256 random bits from the operating system, URL-safe base64 without padding (43
/// characters): the secret of a token, a sign-in link or a browser session.
pub(crate) fn random_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a secret (a token's, a sign-in link's, a session's): hex SHA-256. A
/// fast hash is right here: the secret has 256 bits of entropy, so there is nothing to
/// brute-force.
pub(super) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

const TOKEN_COLUMNS: &str = "id, kind, poc_id, label, created_at, last_used_at, revoked_at";

impl Store {
    /// Creates a token for `owner` and logs it. A POC must exist and be active.
    pub async fn create_token(
        &self,
        actor: Actor<'_>,
        owner: TokenOwner,
        label: Option<&Label>,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, DirectoryError> {
        let (kind, poc_id) = match owner {
            TokenOwner::Secretariat => ("secretariat", None),
            TokenOwner::Poc(id) => ("poc", Some(id.0)),
        };
        let secret = generate_secret().map_err(StoreError::Randomness)?;
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO tokens (id, token_hash, kind, poc_id, label, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING {TOKEN_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            if let Some(poc_id) = poc_id {
                let active: Option<bool> = sqlx::query_scalar("SELECT active FROM pocs WHERE id = $1")
                    .bind(poc_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                match active {
                    None => return Err(DirectoryError::PocNotFound(poc_id)),
                    Some(false) => return Err(DirectoryError::PocDeactivated(poc_id)),
                    Some(true) => {}
                }
            }
            let record: TokenRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(hash_secret(&secret))
                .bind(kind)
                .bind(poc_id)
                .bind(label.map(Label::as_str))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let payload = json!({ "kind": kind, "poc_id": poc_id, "label": label });
            record_directory_event!(tx, actor, now, "token_created", id.to_string(), payload);
            tx.commit().await?;
            Ok(IssuedToken { record, secret })
        })
    }

    /// Revokes a token: from now on it answers 401 (on other servers reading from memory,
    /// once they hear of it: see [`super::listened`]). Returns `false` if no token has this
    /// id. Revoking a revoked token changes nothing and logs nothing.
    pub async fn revoke_token(
        &self,
        actor: Actor<'_>,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _forget = self.owners_changing();
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let revoked_at: Option<Option<DateTime<Utc>>> =
                sqlx::query_scalar("SELECT revoked_at FROM tokens WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            match revoked_at {
                None => return Ok(false),
                Some(Some(_)) => return Ok(true),
                Some(None) => {}
            }
            sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            record_directory_event!(tx, actor, now, "token_revoked", id.to_string(), json!({}));
            tx.commit().await?;
            Ok(true)
        })
    }

    /// One token's metadata.
    pub async fn get_token(&self, id: Uuid) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1");
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await?),
        )
    }

    /// Every token, newest first, for operators (`cbm2 token list`).
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at DESC, id DESC");
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await?),
        )
    }

    /// The caller a token secret stands for: `None` if the secret is unknown, the token is
    /// revoked, or it belongs to a deactivated POC.
    pub async fn authenticate(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Caller>, StoreError> {
        Ok(self
            .authenticate_with(secret, now, None)
            .await?
            .map(|(caller, _)| caller))
    }

    /// [`TOKEN_OWNER_QUERY`] on the SQLite file directly, without sqlx's thread
    /// ([`super::sqlite_reads`]): `None` on PostgreSQL, or if that read failed (the caller
    /// then reads through the pool, which waits and reports as every read does).
    fn read_token_owner_directly(
        &self,
        token_hash: &str,
        inquiry_id: Option<Uuid>,
    ) -> Option<Option<TokenOwnerRow>> {
        let reads = self.sqlite_reads.as_deref()?;
        match reads.token_owner(token_hash, inquiry_id) {
            Ok(row) => Some(row),
            Err(error) => {
                tracing::debug!(%error, "the direct read of a token failed: reading it through the pool");
                None
            }
        }
    }

    /// [`Store::authenticate`], and the inquiry `inquiry_id` (whoever it belongs to: the
    /// caller checks visibility) read in the same query: a read of one inquiry costs one
    /// round trip, not two. The inquiry is `None` if there is none of that id; its
    /// decoding is shared with other reads of the same stored text ([`super::decoded`]).
    pub async fn authenticate_with(
        &self,
        secret: &str,
        now: DateTime<Utc>,
        inquiry_id: Option<Uuid>,
    ) -> Result<Option<(Caller, Option<Arc<Inquiry>>)>, StoreError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let token_hash = hash_secret(secret);
        let ticket = match self
            .listened
            .as_deref()
            .map(|listened| listened.recall(&token_hash, inquiry_id))
        {
            Some(Recall::Hit(row, inquiry)) => {
                return self.caller_of(row, inquiry, &token_hash, now).await;
            }
            Some(Recall::Miss(ticket)) => ticket,
            None => None,
        };
        let mut row = self.read_token_owner_directly(&token_hash, inquiry_id);
        if row.is_none()
            && let Some(reads) = &self.grouped_reads
        {
            row = reads.token_owner(&token_hash, inquiry_id).await;
        }
        let row = match row {
            Some(row) => row,
            None => dispatch!(self, pool => sqlx::query_as(TOKEN_OWNER_QUERY)
                .bind(&token_hash)
                .bind(inquiry_id)
                .fetch_optional(pool)
                .await?),
        };
        let Some(row) = row else { return Ok(None) };
        let inquiry = match (inquiry_id, row.inquiry_state.as_deref()) {
            (Some(id), Some(text)) => Some((id, self.decoded.decode(id, text)?, text.len())),
            _ => None,
        };
        if let (Some(listened), Some(ticket)) = (&self.listened, ticket) {
            let kept = inquiry
                .as_ref()
                .map(|(id, inquiry, bytes)| (*id, inquiry, *bytes));
            listened.keep(ticket, &token_hash, &row, kept);
        }
        let inquiry = inquiry.map(|(_, inquiry, _)| inquiry);
        self.caller_of(row, inquiry, &token_hash, now).await
    }

    /// The caller `row` stands for (`None` if its POC is deactivated), with `inquiry`;
    /// marks the token used if it was not for a minute.
    async fn caller_of(
        &self,
        row: TokenOwnerRow,
        inquiry: Option<Arc<Inquiry>>,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(Caller, Option<Arc<Inquiry>>)>, StoreError> {
        let principal = match (row.poc_id, row.member_state, row.poc_active, row.poc_role) {
            (None, _, _, _) => Principal::Secretariat,
            (Some(poc_id), Some(code), Some(true), Some(role)) => Principal::Poc {
                poc_id: PocId(poc_id),
                member_state: MemberStateCode::parse(&code)
                    .map_err(|e| StoreError::CorruptRow(format!("pocs.member_state: {e}")))?,
                role: role
                    .parse::<PocRole>()
                    .map_err(|e| StoreError::CorruptRow(format!("pocs.role: {e}")))?,
                participating: row.participating.unwrap_or(false),
            },
            _ => return Ok(None),
        };
        if row
            .last_used_at
            .is_none_or(|t| now - t >= LAST_USED_RESOLUTION)
        {
            dispatch!(self, pool => sqlx::query("UPDATE tokens SET last_used_at = $2 WHERE id = $1")
                .bind(row.id)
                .bind(now)
                .execute(self.writes(pool))
                .await
                .map(drop)?);
            if let Some(listened) = &self.listened {
                listened.used(token_hash, now);
            }
        }
        let caller = Caller {
            token_id: row.id,
            principal,
        };
        Ok(Some((caller, inquiry)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_carry_256_random_bits_behind_the_prefix() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(&a[TOKEN_PREFIX.len()..])
                .unwrap()
                .len(),
            32
        );
        assert_ne!(a, b);
    }

    #[test]
    fn the_stored_hash_is_not_the_secret() {
        let secret = generate_secret().unwrap();
        let hash = hash_secret(&secret);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&secret[TOKEN_PREFIX.len()..]));
    }
}
