//! Who is calling: the Secretariat or one POC, as established by a bearer token.

use std::fmt;

use uuid::Uuid;

use super::{MemberStateCode, PocId, PocRole};

/// The party a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The OAS Secretariat (CICTE): keeps the directory, monitors, sees metadata only.
    Secretariat,
    /// One point of contact, and through it one member state.
    Poc {
        poc_id: PocId,
        member_state: MemberStateCode,
        /// Its role in the directory: only `policy` POCs act in CBM #2 inquiries (others
        /// read and write those shared with them).
        role: PocRole,
        /// Whether its state participates in CBM #2 now.
        participating: bool,
    },
}

/// As logs name it: `secretariat`, or `poc:<uuid>`.
impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Secretariat => f.write_str("secretariat"),
            Principal::Poc { poc_id, .. } => write!(f, "poc:{}", poc_id.0),
        }
    }
}

/// An authenticated caller: the principal and the token it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: Uuid,
    pub principal: Principal,
}

impl Caller {
    pub fn is_secretariat(&self) -> bool {
        matches!(self.principal, Principal::Secretariat)
    }

    /// The POC this caller is, if it is one.
    pub fn poc_id(&self) -> Option<PocId> {
        match &self.principal {
            Principal::Poc { poc_id, .. } => Some(*poc_id),
            Principal::Secretariat => None,
        }
    }
}
