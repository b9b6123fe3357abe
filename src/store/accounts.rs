// TEMPORARY STUB (lead): replaced by the accounts branch. Not to be committed.
#![allow(unused)]
use super::{Store, StoreError};
use crate::domain::{Caller, EmailAddress, Language, MemberStateCode, PocId};
use chrono::{DateTime, Utc};
use uuid::Uuid;
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Poc(PocId),
    Staff(Uuid),
}
#[derive(Debug, Clone)]
pub struct IssuedSignInLink {
    pub secret: String,
    pub account: Account,
    pub label: String,
    pub language: Language,
    pub expires_at: DateTime<Utc>,
}
pub struct SignInLinkInfo {
    pub account: Account,
    pub return_to: Option<String>,
    pub expires_at: DateTime<Utc>,
}
pub struct IssuedSession {
    pub secret: String,
    pub session_id: Uuid,
    pub return_to: Option<String>,
    pub expires_at: DateTime<Utc>,
}
#[derive(Debug, Clone)]
pub struct SessionCaller {
    pub session_id: Uuid,
    pub caller: Caller,
    pub account: Account,
    pub csrf_token: String,
    pub language: Option<Language>,
    pub name: String,
    pub email: String,
    pub member_state: Option<MemberStateCode>,
}
impl Store {
    pub async fn create_sign_in_links(
        &self,
        email: &EmailAddress,
        return_to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<IssuedSignInLink>, StoreError> {
        todo!()
    }
    pub async fn peek_sign_in_link(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SignInLinkInfo>, StoreError> {
        todo!()
    }
    pub async fn redeem_sign_in_link(
        &self,
        secret: &str,
        user_agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<IssuedSession>, StoreError> {
        todo!()
    }
    pub async fn authenticate_session(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionCaller>, StoreError> {
        todo!()
    }
    pub async fn end_session(
        &self,
        account: &Account,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        todo!()
    }
    pub async fn set_language_preference(
        &self,
        account: &Account,
        language: Option<Language>,
    ) -> Result<(), StoreError> {
        todo!()
    }
}
