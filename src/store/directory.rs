//! The directory: member states, points of contact, and the append-only log of changes.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use super::{BeginWrite, Store, StoreError, dispatch};
use crate::domain::{
    Affiliation, Caller, EmailAddress, MemberStateCode, PersonName, PhoneNumber, PocRole, TimeZone,
    poc::Languages,
};

/// A member state as the directory holds it, with its count of active POCs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberState {
    #[sqlx(try_from = "String")]
    pub code: MemberStateCode,
    pub name_en: String,
    pub name_es: String,
    pub name_fr: String,
    pub name_pt: String,
    pub participating: bool,
    #[sqlx(try_from = "String")]
    pub time_zone: TimeZone,
    /// The days it works, as stored: `mon,tue,wed,thu,fri`.
    pub working_days: String,
    /// When its working day closes, `HH:MM` local.
    pub working_day_ends: String,
    pub active_pocs: i64,
    pub active_policy_pocs: i64,
}

/// What a PATCH of a member state sets: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MemberStateChanges {
    pub participating: Option<bool>,
    pub time_zone: Option<TimeZone>,
    pub working_days: Option<crate::calendar::WorkingWeek>,
    /// `HH:MM`, checked.
    pub working_day_ends: Option<String>,
}

/// A point of contact as stored. Text fields were validated on the way in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PocRecord {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub member_state: MemberStateCode,
    pub name: String,
    pub affiliation: String,
    #[sqlx(try_from = "String")]
    pub role: PocRole,
    pub email: String,
    pub phone: Option<String>,
    pub languages: Json<Vec<String>>,
    pub active: bool,
    pub last_confirmed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// When the POC consented to the UN Global POC Directory having its details; `None`
    /// if it has not (or has withdrawn).
    pub un_consent_at: Option<DateTime<Utc>>,
    /// Who recorded the consent: `poc` or `secretariat`.
    pub un_consent_by: Option<String>,
    /// How the consent was given, as the Secretariat noted it.
    pub un_consent_how: Option<String>,
    /// Its OpenPGP public key, ASCII-armored: e-mails to it go encrypted.
    pub openpgp_key: Option<String>,
}

/// A consent to the UN Global POC Directory, as recorded.
#[derive(Debug, Clone)]
pub enum UnConsent {
    /// Given by the POC itself, in cbm2, now.
    ByPoc,
    /// Given outside cbm2, at `at`, as the Secretariat notes: `how` (a letter, a meeting).
    NotedBySecretariat { at: DateTime<Utc>, how: String },
}

/// A new point of contact, every field validated.
#[derive(Debug, Clone)]
pub struct NewPoc {
    pub member_state: MemberStateCode,
    pub name: PersonName,
    pub affiliation: Affiliation,
    pub role: PocRole,
    pub email: EmailAddress,
    pub phone: Option<PhoneNumber>,
    pub languages: Languages,
}

/// The fields a PATCH sets; `None` leaves a field as it is. `phone: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct PocChanges {
    pub member_state: Option<MemberStateCode>,
    pub name: Option<PersonName>,
    pub affiliation: Option<Affiliation>,
    pub role: Option<PocRole>,
    pub email: Option<EmailAddress>,
    pub phone: Option<Option<PhoneNumber>>,
    pub languages: Option<Languages>,
    /// `Some(None)` removes the key.
    pub openpgp_key: Option<Option<crate::openpgp::ArmoredKey>>,
}

impl PocChanges {
    /// The changed fields and their new values, as recorded in the directory log.
    pub(super) fn to_payload(&self) -> Value {
        let mut changed = Map::new();
        let mut set = |field: &str, value: Value| {
            changed.insert(field.to_owned(), value);
        };
        if let Some(v) = &self.member_state {
            set("member_state", json!(v));
        }
        if let Some(v) = &self.name {
            set("name", json!(v));
        }
        if let Some(v) = &self.affiliation {
            set("affiliation", json!(v));
        }
        if let Some(v) = &self.role {
            set("role", json!(v));
        }
        if let Some(v) = &self.email {
            set("email", json!(v));
        }
        if let Some(v) = &self.phone {
            set("phone", json!(v));
        }
        if let Some(v) = &self.languages {
            set("languages", json!(v));
        }
        if let Some(v) = &self.openpgp_key {
            // The key's fingerprint: the log names the key without holding it.
            set("openpgp_key", json!(v.as_ref().map(|key| &key.fingerprint)));
        }
        Value::Object(changed)
    }
}

/// Filters and position for listing the directory.
#[derive(Debug, Clone, Default)]
pub struct PocFilter {
    pub member_state: Option<MemberStateCode>,
    pub role: Option<PocRole>,
    pub active: Option<bool>,
}

/// Where a page of the directory starts: just after this (member state, name, id).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PocCursor {
    pub member_state: String,
    pub name: String,
    pub id: Uuid,
}

impl PocRecord {
    pub fn cursor(&self) -> PocCursor {
        PocCursor {
            member_state: self.member_state.to_string(),
            name: self.name.clone(),
            id: self.id,
        }
    }
}

/// One entry of the directory log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DirectoryEvent {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_token_id: Option<Uuid>,
    pub actor_poc_id: Option<Uuid>,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub subject: String,
    pub payload: Json<Value>,
}

/// Who is changing the directory, for the log.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A caller of the API.
    Caller(&'a Caller),
    /// An operator running `cbm2` on the database's machine.
    CommandLine,
}

impl Actor<'_> {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Actor::Caller(caller) if caller.is_secretariat() => "secretariat",
            Actor::Caller(_) => "poc",
            Actor::CommandLine => "cli",
        }
    }

    pub(crate) fn token_id(&self) -> Option<Uuid> {
        match self {
            Actor::Caller(caller) => Some(caller.token_id),
            Actor::CommandLine => None,
        }
    }

    pub(crate) fn poc_id(&self) -> Option<Uuid> {
        match self {
            Actor::Caller(caller) => caller.poc_id().map(|id| id.0),
            Actor::CommandLine => None,
        }
    }
}

/// Why a directory change was refused.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0} is not an OAS Member State")]
    UnknownMemberState(MemberStateCode),
    #[error("no point of contact has id {0}")]
    PocNotFound(Uuid),
    #[error("point of contact {0} is deactivated")]
    PocDeactivated(Uuid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DirectoryError {
    fn from(error: sqlx::Error) -> Self {
        DirectoryError::Store(StoreError::Database(error))
    }
}

/// Appends one entry to the directory log inside the transaction `$tx`.
macro_rules! record_directory_event {
    ($tx:expr, $actor:expr, $at:expr, $event_type:expr, $subject:expr, $payload:expr) => {
        sqlx::query(
            "INSERT INTO directory_events
                 (at, actor_kind, actor_token_id, actor_poc_id, type, subject, payload)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind($at)
        .bind($actor.kind())
        .bind($actor.token_id())
        .bind($actor.poc_id())
        .bind($event_type)
        .bind($subject)
        .bind(sqlx::types::Json($payload))
        .execute(&mut *$tx)
        .await?
    };
}
pub(crate) use record_directory_event;

const MEMBER_STATE_COLUMNS: &str = "
    SELECT m.code, m.name_en, m.name_es, m.name_fr, m.name_pt, m.participating, m.time_zone,
           m.working_days, m.working_day_ends,
           (SELECT count(*) FROM pocs p WHERE p.member_state = m.code AND p.active)
               AS active_pocs,
           (SELECT count(*) FROM pocs p
             WHERE p.member_state = m.code AND p.active AND p.role = 'policy')
               AS active_policy_pocs
      FROM member_states m";

/// What a `poc_created` directory event records: the new POC's fields as given.
pub(super) fn poc_created_payload(poc: &NewPoc) -> serde_json::Value {
    json!({
        "member_state": poc.member_state, "name": poc.name, "affiliation": poc.affiliation,
        "role": poc.role, "email": poc.email, "phone": poc.phone, "languages": poc.languages,
    })
}

/// The columns a new POC is inserted with.
pub(super) const POC_INSERT_COLUMNS: &str = "id, member_state, name, affiliation, role, email, phone, \
     languages, active, last_confirmed_at, created_at, updated_at, deactivated_at";

/// The columns of a [`PocRecord`]: those inserted, and its consent to the UN directory.
pub(super) const POC_COLUMNS: &str = "id, member_state, name, affiliation, role, email, phone, languages, \
     active, last_confirmed_at, created_at, updated_at, deactivated_at, un_consent_at, \
     un_consent_by, un_consent_how, openpgp_key";

impl Store {
    /// All member states, by code.
    pub async fn list_member_states(&self) -> Result<Vec<MemberState>, StoreError> {
        let sql = member_state_query(" ORDER BY m.code");
        Ok(dispatch!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?))
    }

    /// One member state, or `None` if the code is not an OAS Member State.
    pub async fn get_member_state(
        &self,
        code: &MemberStateCode,
    ) -> Result<Option<MemberState>, StoreError> {
        let sql = member_state_query(" WHERE m.code = $1");
        Ok(
            dispatch!(self, pool => sqlx::query_as(sql).bind(code.as_str()).fetch_optional(pool).await?),
        )
    }

    /// A member state's public holidays, by date; `None` if the code is not an OAS Member
    /// State.
    pub async fn holidays(
        &self,
        code: &MemberStateCode,
    ) -> Result<Option<Vec<crate::calendar::Holiday>>, StoreError> {
        if self.get_member_state(code).await?.is_none() {
            return Ok(None);
        }
        let rows: Vec<(String, String)> = dispatch!(self, pool => sqlx::query_as(
            "SELECT date, name FROM member_state_holidays WHERE member_state = $1 ORDER BY date",
        )
        .bind(code.as_str())
        .fetch_all(pool)
        .await?);
        rows.into_iter()
            .map(|(date, name)| {
                Ok(crate::calendar::Holiday {
                    date: date.parse().map_err(|e| {
                        StoreError::CorruptRow(format!("member_state_holidays.date: {e}"))
                    })?,
                    name,
                })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// Replaces a member state's public holidays with `holidays` (one a date), in one
    /// transaction, and logs one `member_state_holidays_set` event (how many, first and
    /// last date).
    pub async fn set_holidays(
        &self,
        actor: Actor<'_>,
        code: &MemberStateCode,
        holidays: &[crate::calendar::Holiday],
        now: DateTime<Utc>,
    ) -> Result<(), DirectoryError> {
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let known: Option<String> =
                sqlx::query_scalar("SELECT code FROM member_states WHERE code = $1")
                    .bind(code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            if known.is_none() {
                return Err(DirectoryError::UnknownMemberState(code.clone()));
            }
            sqlx::query("DELETE FROM member_state_holidays WHERE member_state = $1")
                .bind(code.as_str())
                .execute(&mut *tx)
                .await?;
            for holiday in holidays {
                sqlx::query(
                    "INSERT INTO member_state_holidays (member_state, date, name) VALUES ($1, $2, $3)",
                )
                .bind(code.as_str())
                .bind(holiday.date.to_string())
                .bind(&holiday.name)
                .execute(&mut *tx)
                .await?;
            }
            record_directory_event!(tx, actor, now, "member_state_holidays_set", code.as_str(),
                json!({
                    "count": holidays.len(),
                    "first": holidays.first().map(|h| h.date),
                    "last": holidays.last().map(|h| h.date),
                }));
            tx.commit().await?;
        });
        Ok(())
    }

    /// Changes what `changes` sets of a member state (whether it participates in CBM #2,
    /// its time zone, working days and the hour its working day closes) and logs one `member_state_updated` event naming the fields that
    /// changed; setting the current values changes nothing and logs nothing.
    pub async fn update_member_state(
        &self,
        actor: Actor<'_>,
        code: &MemberStateCode,
        changes: &MemberStateChanges,
        now: DateTime<Utc>,
    ) -> Result<MemberState, DirectoryError> {
        let _forget = self.owners_changing();
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let current: Option<(bool, String, String, String)> = sqlx::query_as(
                "SELECT participating, time_zone, working_days, working_day_ends
                   FROM member_states WHERE code = $1",
            )
            .bind(code.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((participating, time_zone, working_days, working_day_ends)) = current else {
                return Err(DirectoryError::UnknownMemberState(code.clone()));
            };
            let mut changed = Map::new();
            if let Some(wanted) = changes.participating
                && wanted != participating
            {
                changed.insert("participating".into(), json!(wanted));
            }
            if let Some(wanted) = changes.time_zone
                && wanted.name() != time_zone
            {
                changed.insert("time_zone".into(), json!(wanted));
            }
            let week = changes.working_days.map(|week| week.to_string());
            if let Some(wanted) = &week
                && *wanted != working_days
            {
                changed.insert("working_days".into(), json!(wanted.split(',').collect::<Vec<_>>()));
            }
            if let Some(wanted) = &changes.working_day_ends
                && *wanted != working_day_ends
            {
                changed.insert("working_day_ends".into(), json!(wanted));
            }
            if !changed.is_empty() {
                sqlx::query(
                    "UPDATE member_states
                        SET participating = COALESCE($1, participating),
                            time_zone = COALESCE($2, time_zone),
                            working_days = COALESCE($4, working_days),
                            working_day_ends = COALESCE($5, working_day_ends)
                      WHERE code = $3",
                )
                .bind(changes.participating)
                .bind(changes.time_zone.map(TimeZone::name))
                .bind(code.as_str())
                .bind(week)
                .bind(changes.working_day_ends.as_deref())
                .execute(&mut *tx)
                .await?;
                record_directory_event!(tx, actor, now, "member_state_updated", code.as_str(),
                    Value::Object(changed));
            }
            tx.commit().await?;
        });
        self.forget_zones();
        self.get_member_state(code)
            .await?
            .ok_or_else(|| DirectoryError::UnknownMemberState(code.clone()))
    }

    /// Adds a point of contact, confirmed as of `now`, and logs it.
    pub async fn create_poc(
        &self,
        actor: Actor<'_>,
        poc: &NewPoc,
        now: DateTime<Utc>,
    ) -> Result<PocRecord, DirectoryError> {
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO pocs ({POC_INSERT_COLUMNS})
             SELECT $1, code, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, NULL
               FROM member_states WHERE code = $10
             RETURNING {POC_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let record: Option<PocRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(poc.name.as_str())
                .bind(poc.affiliation.as_str())
                .bind(poc.role.as_str())
                .bind(poc.email.as_str())
                .bind(poc.phone.as_ref().map(PhoneNumber::as_str))
                .bind(Json(&poc.languages))
                .bind(true)
                .bind(now)
                .bind(poc.member_state.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(record) = record else {
                return Err(DirectoryError::UnknownMemberState(poc.member_state.clone()));
            };
            let payload = poc_created_payload(poc);
            record_directory_event!(tx, actor, now, "poc_created", id.to_string(), payload);
            tx.commit().await?;
            Ok(record)
        })
    }

    /// One point of contact, active or not.
    pub async fn get_poc(&self, id: Uuid) -> Result<Option<PocRecord>, StoreError> {
        let sql = format!("SELECT {POC_COLUMNS} FROM pocs WHERE id = $1");
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await?),
        )
    }

    /// The points of contact, active or not, whose e-mail address is `email` (ignoring
    /// ASCII case), active ones first. Addresses are not unique: two POCs may share one.
    pub async fn pocs_with_email(&self, email: &str) -> Result<Vec<PocRecord>, StoreError> {
        let sql = format!(
            "SELECT {POC_COLUMNS} FROM pocs WHERE lower(email) = lower($1)
              ORDER BY active DESC, member_state, name, id"
        );
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(email).fetch_all(pool).await?),
        )
    }

    /// A page of the directory, ordered by member state, name and id, starting after
    /// `after`. Returns at most `limit` records.
    pub async fn list_pocs(
        &self,
        filter: &PocFilter,
        after: Option<&PocCursor>,
        limit: u32,
    ) -> Result<Vec<PocRecord>, StoreError> {
        let sql = format!(
            "SELECT {POC_COLUMNS} FROM pocs
              WHERE ($1 IS NULL OR member_state = $1)
                AND ($2 IS NULL OR role = $2)
                AND ($3 IS NULL OR active = $3)
                AND ($4 IS NULL OR (member_state, name, id) > ($4, $5, $6))
              ORDER BY member_state, name, id
              LIMIT $7"
        );
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(filter.member_state.as_ref().map(MemberStateCode::as_str))
            .bind(filter.role.map(PocRole::as_str))
            .bind(filter.active)
            .bind(after.map(|c| c.member_state.as_str()))
            .bind(after.map(|c| c.name.as_str()))
            .bind(after.map(|c| c.id))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?),
        )
    }

    /// Applies `changes` to a POC in one statement and logs what was set. A PATCH that sets
    /// nothing changes nothing and logs nothing.
    pub async fn update_poc(
        &self,
        actor: Actor<'_>,
        id: Uuid,
        changes: &PocChanges,
        now: DateTime<Utc>,
    ) -> Result<PocRecord, DirectoryError> {
        let _forget = self.owners_changing();
        let payload = changes.to_payload();
        if payload.as_object().is_some_and(Map::is_empty) {
            return self
                .get_poc(id)
                .await?
                .ok_or(DirectoryError::PocNotFound(id));
        }
        if let Some(code) = &changes.member_state
            && self.get_member_state(code).await?.is_none()
        {
            return Err(DirectoryError::UnknownMemberState(code.clone()));
        }
        let sql = format!(
            "UPDATE pocs SET
                 member_state = COALESCE($2, member_state),
                 name = COALESCE($3, name),
                 affiliation = COALESCE($4, affiliation),
                 role = COALESCE($5, role),
                 email = COALESCE($6, email),
                 phone = CASE WHEN $7 THEN $8 ELSE phone END,
                 languages = COALESCE($9, languages),
                 updated_at = $10,
                 openpgp_key = CASE WHEN $11 THEN $12 ELSE openpgp_key END
             WHERE id = $1
             RETURNING {POC_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let record: Option<PocRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(changes.member_state.as_ref().map(MemberStateCode::as_str))
                .bind(changes.name.as_ref().map(PersonName::as_str))
                .bind(changes.affiliation.as_ref().map(Affiliation::as_str))
                .bind(changes.role.map(PocRole::as_str))
                .bind(changes.email.as_ref().map(EmailAddress::as_str))
                .bind(changes.phone.is_some())
                .bind(changes.phone.as_ref().and_then(|p| p.as_ref().map(PhoneNumber::as_str)))
                .bind(changes.languages.as_ref().map(Json))
                .bind(now)
                .bind(changes.openpgp_key.is_some())
                .bind(changes.openpgp_key.as_ref().and_then(|k| k.as_ref().map(|k| k.armored.as_str())))
                .fetch_optional(&mut *tx)
                .await?;
            let Some(record) = record else {
                return Err(DirectoryError::PocNotFound(id));
            };
            record_directory_event!(tx, actor, now, "poc_updated", id.to_string(), payload);
            tx.commit().await?;
            Ok(record)
        })
    }

    /// Deactivates a POC: it stays listed, but its tokens stop working. Deactivating a POC
    /// that already is changes nothing and logs nothing.
    pub async fn deactivate_poc(
        &self,
        actor: Actor<'_>,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<PocRecord, DirectoryError> {
        let _forget = self.owners_changing();
        let sql = format!(
            "UPDATE pocs SET active = $2, deactivated_at = $3, updated_at = $3
              WHERE id = $1 AND active
              RETURNING {POC_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let record: Option<PocRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(false)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if record.is_some() {
                record_directory_event!(tx, actor, now, "poc_deactivated", id.to_string(), json!({}));
            }
            tx.commit().await?;
        });
        self.get_poc(id)
            .await?
            .ok_or(DirectoryError::PocNotFound(id))
    }

    /// Records the annual confirmation of a POC's details (CBM #2: "updated annually").
    pub async fn confirm_poc(
        &self,
        actor: Actor<'_>,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<PocRecord, DirectoryError> {
        let sql = format!(
            "UPDATE pocs SET last_confirmed_at = $2, updated_at = $2
              WHERE id = $1 AND active
              RETURNING {POC_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let record: Option<PocRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(record) = record else {
                drop(tx);
                return Err(match self.get_poc(id).await? {
                    Some(_) => DirectoryError::PocDeactivated(id),
                    None => DirectoryError::PocNotFound(id),
                });
            };
            record_directory_event!(tx, actor, now, "poc_confirmed", id.to_string(), json!({}));
            tx.commit().await?;
            Ok(record)
        })
    }

    /// Records a POC's consent to the UN Global POC Directory (`Some`), or its withdrawal
    /// (`None`), with a directory event; a withdrawal where there is no consent changes
    /// nothing and records nothing. A deactivated POC's consent cannot be given.
    pub async fn set_un_consent(
        &self,
        actor: Actor<'_>,
        id: Uuid,
        consent: Option<UnConsent>,
        now: DateTime<Utc>,
    ) -> Result<PocRecord, DirectoryError> {
        let (at, by, how) = match &consent {
            Some(UnConsent::ByPoc) => (Some(now), Some("poc"), None),
            Some(UnConsent::NotedBySecretariat { at, how }) => {
                (Some(*at), Some("secretariat"), Some(how.as_str()))
            }
            None => (None, None, None),
        };
        let sql = format!(
            "UPDATE pocs SET un_consent_at = $2, un_consent_by = $3, un_consent_how = $4,
                    updated_at = $5
              WHERE id = $1 AND (active OR $2 IS NULL)
                AND NOT ($2 IS NULL AND un_consent_at IS NULL)
              RETURNING {POC_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let record: Option<PocRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(at)
                .bind(by)
                .bind(how)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(record) = record else {
                drop(tx);
                return match (self.get_poc(id).await?, consent) {
                    (None, _) => Err(DirectoryError::PocNotFound(id)),
                    // Nothing to withdraw.
                    (Some(record), None) => Ok(record),
                    (Some(_), Some(_)) => Err(DirectoryError::PocDeactivated(id)),
                };
            };
            let (event, payload) = match (at, by) {
                (Some(at), Some(by)) => (
                    "poc_un_consent_given",
                    json!({"consented_at": at, "recorded_by": by, "how": how}),
                ),
                _ => ("poc_un_consent_withdrawn", json!({})),
            };
            record_directory_event!(tx, actor, now, event, id.to_string(), payload);
            tx.commit().await?;
            Ok(record)
        })
    }

    /// The active POCs that consent to the UN Global POC Directory, by state and name: what
    /// `GET /v1/directory/export` lists.
    pub async fn un_directory(&self) -> Result<Vec<PocRecord>, StoreError> {
        let sql = format!(
            "SELECT {POC_COLUMNS} FROM pocs
              WHERE active AND un_consent_at IS NOT NULL
              ORDER BY member_state, name, id"
        );
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await?),
        )
    }

    /// A page of the directory log, newest first, starting before sequence number `before`.
    pub async fn list_directory_events(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<DirectoryEvent>, StoreError> {
        Ok(dispatch!(self, pool => sqlx::query_as(
            "SELECT seq, at, actor_kind, actor_token_id, actor_poc_id, type, subject, payload
               FROM directory_events
              WHERE ($1 IS NULL OR seq < $1)
              ORDER BY seq DESC
              LIMIT $2",
        )
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?))
    }
}

impl Store {
    /// Queues, once per confirmation, a `poc_stale_soon` notice to every active POC whose
    /// details will turn stale within `warn_before` (notifications.toml: to that POC).
    pub async fn queue_stale_notices(
        &self,
        now: DateTime<Utc>,
        stale_after: chrono::TimeDelta,
        warn_before: chrono::TimeDelta,
    ) -> Result<u64, StoreError> {
        let mut queued = 0;
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let due: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT id, member_state, last_confirmed_at FROM pocs
                  WHERE active AND last_confirmed_at <= $1
                    AND (stale_notice_for IS NULL OR stale_notice_for <> last_confirmed_at)",
            )
            .bind(now - (stale_after - warn_before))
            .fetch_all(&mut *tx)
            .await?;
            for (id, member_state, confirmed) in due {
                let data = json!({
                    "event": "poc_stale_soon",
                    "poc_id": id,
                    "member_state": member_state,
                    "last_confirmed_at": confirmed,
                    "stale_at": confirmed + stale_after,
                });
                sqlx::query(
                    "INSERT INTO outbox (id, event_type, recipient_kind, recipient_poc_id, data, created_at)
                     VALUES ($1, 'poc_stale_soon', 'poc', $2, $3, $4)",
                )
                .bind(Uuid::now_v7())
                .bind(id)
                .bind(data.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE pocs SET stale_notice_for = last_confirmed_at WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                queued += 1;
            }
            tx.commit().await?;
        });
        Ok(queued)
    }
}

/// The member-state query with `tail` (a WHERE or ORDER BY clause) appended.
fn member_state_query(tail: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("{MEMBER_STATE_COLUMNS}{tail}"))
}
