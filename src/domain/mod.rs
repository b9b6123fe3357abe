//! Validated value types. Each is valid by construction: parsing happens once, at the edge
//! (serde deserialization of a request, or decoding of a stored row), and the rest of the
//! code never re-checks.

pub mod inquiry;
pub mod local_path;
pub mod member_state;
pub mod poc;
pub mod principal;
pub mod text;

pub use inquiry::{ContactDetails, Indicator, IsoDuration, Language, TimeSensitivity};
pub use local_path::LocalPath;
pub use member_state::{MemberStateCode, StateNameForms, TimeZone};
pub use poc::{EmailAddress, LanguageCode, PhoneNumber, PocId, PocRole};
pub use principal::{Caller, Principal};
pub use text::{Affiliation, Label, LongText, Nature, PersonName, Reason, ShortText};
