//! A record that proves itself: one inquiry as a caller may see it, its events with their
//! chain positions and hashes, the chain head at export and the exporting instance, signed
//! with the instance's Ed25519 key (`GET /v1/inquiries/{id}/record`). Anyone holding the
//! file and the instance's public key checks it offline (`cbm2 audit verify-record`),
//! without trusting the instance that sent it: the signature says who issued it, the hashes
//! that each event is the one the chain holds. The format is `docs/record.schema.json`.
//!
//! The signature covers the RFC 8785 (JCS) canonical form of the `record` member, so a
//! verifier in any language reproduces the signed bytes from the parsed JSON. Building and
//! checking a record is pure; only [`InstanceKey::load_or_create`] touches a file.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::store::chain::{ChainHead, EventActor, event_hash};

/// The format's name and version, the record's `format`.
pub const FORMAT: &str = "cbm2-record-v1";
/// The signature's algorithm, as the document names it.
pub const ALGORITHM: &str = "Ed25519";
/// What the signature covers, as the document says it.
pub const SIGNED_BYTES: &str = "RFC 8785 (JCS) canonical JSON of the record member";

/// The instance's signing key, made at first start and kept in a file (PKCS#8 PEM, readable
/// by cbm2's user only), never in the database: whoever can write the database cannot sign.
#[derive(Clone)]
pub struct InstanceKey {
    key: SigningKey,
}

impl fmt::Debug for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstanceKey({})", self.public_key())
    }
}

/// Why the instance's key cannot be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "cannot read the signing key {path}: {source}; check --signing-key (CBM2_SIGNING_KEY) \
         and that cbm2's user may read it",
        path = path.display()
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot make the signing key {path}: {source}; its directory must be writable by \
         cbm2's user, or point --signing-key (CBM2_SIGNING_KEY) elsewhere",
        path = path.display()
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not an Ed25519 private key in PKCS#8 PEM ({reason}); restore the instance's \
         key from its backup (records it signed name its public key), or move the file away to \
         make a new one",
        path = path.display()
    )]
    Malformed { path: PathBuf, reason: String },
    #[error("the system's random source failed: {0}")]
    Randomness(getrandom::Error),
}

impl InstanceKey {
    /// A new random key (not kept anywhere).
    pub fn generate() -> Result<Self, KeyError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(KeyError::Randomness)?;
        Ok(Self {
            key: SigningKey::from_bytes(&secret),
        })
    }

    /// The key in `path`, or a new one written there (mode 0600) if there is none. Two
    /// processes starting together end with the same key: the file is created exclusively
    /// and the loser reads the winner's.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        match std::fs::read_to_string(path) {
            Ok(pem) => return Ok((Self::from_pem(path, &pem)?, false)),
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(source) => {
                return Err(KeyError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        let key = Self::generate()?;
        let pem = key
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an Ed25519 key encodes as PKCS#8");
        let write = |source| KeyError::Write {
            path: path.to_owned(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(pem.as_bytes()).map_err(write)?;
                file.sync_all().map_err(write)?;
                Ok((key, true))
            }
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {
                let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Ok((Self::from_pem(path, &pem)?, false))
            }
            Err(source) => Err(write(source)),
        }
    }

    fn from_pem(path: &Path, pem: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(|key| Self { key })
            .map_err(|error| KeyError::Malformed {
                path: path.to_owned(),
                reason: error.to_string(),
            })
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    /// Signs `record`: the document `GET /v1/inquiries/{id}/record` answers.
    pub fn sign(&self, record: &Record) -> SignedRecord {
        let record = serde_json::to_value(record).expect("a record serializes");
        let signed = canonical(&record);
        let signature = self.key.sign(&signed);
        SignedRecord {
            record,
            signature: SignatureBlock {
                algorithm: ALGORITHM.to_owned(),
                signed_bytes: SIGNED_BYTES.to_owned(),
                public_key: self.public_key().to_string(),
                value: BASE64.encode(signature.to_bytes()),
            },
        }
    }
}

/// An instance's public key: written as the standard base64 of its 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// SubjectPublicKeyInfo PEM, as OpenSSL reads it (`openssl pkey -pubin`).
    pub fn pem(&self) -> String {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 key encodes as SPKI")
    }

    /// SHA-256 of the key's 32 bytes, in hexadecimal: short enough to read out on the phone
    /// when a state checks that it holds the right key.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The key as the base64 of its 32 bytes, or as the PEM `pem()` writes (surrounding
    /// blank space is ignored).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return VerifyingKey::from_public_key_pem(text)
                .map(Self)
                .map_err(|error| format!("not an Ed25519 public key in PEM: {error}"));
        }
        let bytes = BASE64
            .decode(text)
            .map_err(|_| "not base64 (the key is the base64 of 32 bytes, 44 characters)")?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            format!("{} bytes, where an Ed25519 public key has 32", bytes.len())
        })?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| "not a point of Ed25519's curve".to_owned())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE64.encode(self.0.as_bytes()))
    }
}

/// The document: the record, and the signature over its canonical form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedRecord {
    pub record: Value,
    pub signature: SignatureBlock,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignatureBlock {
    /// `Ed25519`.
    pub algorithm: String,
    /// What the signature covers: [`SIGNED_BYTES`].
    pub signed_bytes: String,
    /// The signer's public key, base64; also the record's `instance.public_key`.
    pub public_key: String,
    /// The 64-byte signature, base64.
    pub value: String,
}

/// One inquiry as its reader may see it, at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// [`FORMAT`].
    pub format: String,
    pub exported_at: DateTime<Utc>,
    pub instance: Instance,
    /// Whom the record was exported for: what it shows depends on it.
    pub reader: Reader,
    /// The inquiry as `GET /v1/inquiries/{id}` shows it to the reader at `exported_at`.
    pub inquiry: Value,
    /// Its events the reader may see, oldest first.
    pub events: Vec<RecordEvent>,
    /// The files attached as evidence, by hash (the two states only; the Secretariat's
    /// record has none): a file received apart is checked against its `sha256`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<RecordAttachment>,
    /// The chain's head when the record was exported: the position and hash of the newest
    /// event of every inquiry. Kept, it later proves that nothing up to it was rewritten
    /// (`cbm2 audit verify --expect-head`, `GET /v1/audit/verify?expect_head=`).
    pub chain_head: ChainHead,
}

/// The instance that exported and signed the record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    /// Its public URL (`--public-url`).
    pub url: String,
    /// Its public key, base64 (`GET /v1/audit/public-key`).
    pub public_key: String,
    /// The cbm2 version that exported it.
    pub software: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reader {
    /// `requester`, `responder` or `secretariat`.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poc_id: Option<Uuid>,
}

/// An event with what its hash covers. The Secretariat's record has neither content nor
/// hashes: `payload`, `salt`, `prev_hash` and `hash` are absent there, as in the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordEvent {
    /// Its position in the instance's chain of every inquiry's events.
    pub chain_seq: i64,
    /// Its position in the inquiry: 1, 2, 3…
    pub seq: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub actor: RecordActor,
    /// When, exactly as hashed: RFC 3339 with microseconds, in UTC.
    pub at: String,
    /// The event's data: the canonical JSON text its hash covers, byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The event's secret salt (32 hexadecimal digits), shown to the two states only;
    /// absent from events recorded before salts (hash version `cbm2-event-v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// The hash of the event before it in the chain (`chain_seq - 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordAttachment {
    pub id: Uuid,
    /// SHA-256 of the file's bytes, hexadecimal.
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordActor {
    /// requester, responder, secretariat or engine.
    pub role: String,
    pub poc_id: Option<Uuid>,
    pub member_state: Option<String>,
}

/// An event's time as its hash covers it.
pub fn hashed_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn canonical(record: &Value) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(record).expect("a JSON value canonicalizes")
}

/// What a sound record holds, for the verifier to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub inquiry_id: Uuid,
    pub events: usize,
    /// Whether the events carried hashes (not in the Secretariat's record).
    pub hashes_checked: bool,
    pub public_key: String,
    pub instance_url: String,
    pub exported_at: DateTime<Utc>,
    pub chain_head: ChainHead,
}

/// The first thing found wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not a cbm2 record: {0}")]
    Shape(String),
    #[error("the record's format is {0:?}; this cbm2 reads {FORMAT}")]
    Format(String),
    #[error("the signature's algorithm is {0:?}, not Ed25519")]
    Algorithm(String),
    #[error("the signature names the key {signature} but the record's instance names {record}")]
    KeyMismatch { signature: String, record: String },
    #[error(
        "signed by the key {found}, not by the expected key {expected}: the record was not \
         issued by that instance"
    )]
    NotTheExpectedKey { found: String, expected: String },
    #[error("the public key in the signature: {0}")]
    PublicKey(String),
    #[error(
        "the signature does not match the record: the record was altered after it was signed, \
         or signed by another key"
    )]
    BadSignature,
    #[error("event {index} (seq {seq}): {reason}")]
    Event {
        index: usize,
        seq: i64,
        reason: String,
    },
    #[error("the chain head: {0}")]
    ChainHead(String),
}

/// Checks a record's signature (against `expected` when given, else against the key the
/// record names) and every event hash in it, offline.
pub fn verify(document: &[u8], expected: Option<&PublicKey>) -> Result<Verified, RecordError> {
    let document: SignedRecord =
        serde_json::from_slice(document).map_err(|error| RecordError::Shape(error.to_string()))?;
    let signature = &document.signature;
    if signature.algorithm != ALGORITHM {
        return Err(RecordError::Algorithm(signature.algorithm.clone()));
    }
    let key = PublicKey::parse(&signature.public_key).map_err(RecordError::PublicKey)?;
    if let Some(expected) = expected
        && *expected != key
    {
        return Err(RecordError::NotTheExpectedKey {
            found: key.to_string(),
            expected: expected.to_string(),
        });
    }
    let value: [u8; 64] = BASE64
        .decode(&signature.value)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| RecordError::Shape("signature.value is not 64 bytes in base64".into()))?;
    key.0
        .verify_strict(&canonical(&document.record), &Signature::from_bytes(&value))
        .map_err(|_| RecordError::BadSignature)?;

    let record: Record = serde_json::from_value(document.record)
        .map_err(|error| RecordError::Shape(format!("record: {error}")))?;
    if record.format != FORMAT {
        return Err(RecordError::Format(record.format));
    }
    if record.instance.public_key != signature.public_key {
        return Err(RecordError::KeyMismatch {
            signature: signature.public_key.clone(),
            record: record.instance.public_key,
        });
    }
    let inquiry_id = record
        .inquiry
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| RecordError::Shape("record.inquiry.id is not a UUID".into()))?;
    let hashes_checked = check_events(inquiry_id, &record.events)?;
    check_head(&record.chain_head, &record.events)?;
    Ok(Verified {
        inquiry_id,
        events: record.events.len(),
        hashes_checked,
        public_key: key.to_string(),
        instance_url: record.instance.url,
        exported_at: record.exported_at,
        chain_head: record.chain_head,
    })
}

/// Every event's hash recomputed from what it covers; positions increasing; where two
/// events are neighbours in the chain, the later one links to the earlier one's hash.
/// Returns whether the events carried hashes (all do, or none does).
fn check_events(inquiry_id: Uuid, events: &[RecordEvent]) -> Result<bool, RecordError> {
    let hashed = events.first().is_some_and(|event| event.hash.is_some());
    let mut previous: Option<&RecordEvent> = None;
    for (index, event) in events.iter().enumerate() {
        let wrong = |reason: String| RecordError::Event {
            index,
            seq: event.seq,
            reason,
        };
        if let Some(previous) = previous {
            if event.seq <= previous.seq || event.chain_seq <= previous.chain_seq {
                return Err(wrong(format!(
                    "out of order: after seq {} (chain position {})",
                    previous.seq, previous.chain_seq
                )));
            }
        } else if event.seq < 1 || event.chain_seq < 1 {
            return Err(wrong("positions start at 1".into()));
        }
        let at = DateTime::parse_from_rfc3339(&event.at)
            .map_err(|error| wrong(format!("at is not an RFC 3339 time: {error}")))?
            .with_timezone(&Utc);
        if hashed {
            let (Some(payload), Some(prev_hash), Some(hash)) =
                (&event.payload, &event.prev_hash, &event.hash)
            else {
                return Err(wrong(
                    "payload, prev_hash and hash are missing, where the other events have them"
                        .into(),
                ));
            };
            if let Some(previous) = previous
                && event.chain_seq == previous.chain_seq + 1
                && previous.hash.as_ref() != Some(prev_hash)
            {
                return Err(wrong(
                    "prev_hash is not the hash of the event just before it in the chain".into(),
                ));
            }
            let actor = EventActor {
                kind: event.actor.role.clone(),
                poc_id: event.actor.poc_id,
                state: event.actor.member_state.clone(),
            };
            let computed = event_hash(
                prev_hash,
                event.salt.as_deref(),
                event.chain_seq,
                inquiry_id,
                event.seq,
                &event.event_type,
                &actor,
                at,
                payload,
            );
            if computed != *hash {
                return Err(wrong(
                    "its hash does not match its content: the event was altered".into(),
                ));
            }
        } else if event.payload.is_some() || event.hash.is_some() || event.prev_hash.is_some() {
            return Err(wrong(
                "has content or a hash, where the first event has none".into(),
            ));
        }
        previous = Some(event);
    }
    Ok(hashed)
}

/// The head is at or after the newest event; at it, it is that event's hash.
fn check_head(head: &ChainHead, events: &[RecordEvent]) -> Result<(), RecordError> {
    let Some(last) = events.last() else {
        return Ok(());
    };
    if head.chain_seq < last.chain_seq {
        return Err(RecordError::ChainHead(format!(
            "position {} is before the newest event's ({})",
            head.chain_seq, last.chain_seq
        )));
    }
    if head.chain_seq == last.chain_seq
        && let Some(hash) = &last.hash
        && *hash != head.hash
    {
        return Err(RecordError::ChainHead(
            "it is the newest event's position but not its hash".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chain::GENESIS_HASH;

    fn event(chain_seq: i64, seq: i64, prev_hash: &str, inquiry: Uuid) -> RecordEvent {
        let at = "2026-11-30T10:00:00.000001Z";
        let payload = r#"{"note":"x"}"#;
        let salt = "0123456789abcdef0123456789abcdef";
        let actor = EventActor {
            kind: "requester".into(),
            poc_id: None,
            state: Some("CHL".into()),
        };
        let hash = event_hash(
            prev_hash,
            Some(salt),
            chain_seq,
            inquiry,
            seq,
            "created",
            &actor,
            DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
            payload,
        );
        RecordEvent {
            chain_seq,
            seq,
            event_type: "created".into(),
            actor: RecordActor {
                role: "requester".into(),
                poc_id: None,
                member_state: Some("CHL".into()),
            },
            at: at.into(),
            payload: Some(payload.into()),
            salt: Some(salt.into()),
            prev_hash: Some(prev_hash.into()),
            hash: Some(hash),
        }
    }

    fn record(events: Vec<RecordEvent>, key: &InstanceKey) -> Record {
        let head = events
            .last()
            .map_or_else(ChainHead::genesis, |e| ChainHead {
                chain_seq: e.chain_seq,
                hash: e.hash.clone().unwrap(),
            });
        Record {
            format: FORMAT.into(),
            exported_at: Utc::now(),
            instance: Instance {
                url: "https://cbm2.example".into(),
                public_key: key.public_key().to_string(),
                software: "cbm2 test".into(),
            },
            reader: Reader {
                role: "requester".into(),
                member_state: Some("CHL".into()),
                poc_id: None,
            },
            inquiry: serde_json::json!({"id": Uuid::nil(), "status": "draft"}),
            events,
            attachments: Vec::new(),
            chain_head: head,
        }
    }

    fn chain() -> Vec<RecordEvent> {
        let first = event(1, 1, GENESIS_HASH, Uuid::nil());
        let second = event(2, 2, first.hash.as_deref().unwrap(), Uuid::nil());
        // Another inquiry's event sits at 3: the link from 4 is not checked.
        let fourth = event(4, 3, &"a".repeat(64), Uuid::nil());
        vec![first, second, fourth]
    }

    fn signed(record: &Record, key: &InstanceKey) -> Vec<u8> {
        serde_json::to_vec(&key.sign(record)).unwrap()
    }

    #[test]
    fn a_signed_record_verifies_against_its_key_and_not_another() {
        let key = InstanceKey::generate().unwrap();
        let document = signed(&record(chain(), &key), &key);
        let verified = verify(&document, Some(&key.public_key())).unwrap();
        assert_eq!(verified.events, 3);
        assert!(verified.hashes_checked);
        assert!(verify(&document, None).is_ok());
        let other = InstanceKey::generate().unwrap().public_key();
        assert!(matches!(
            verify(&document, Some(&other)),
            Err(RecordError::NotTheExpectedKey { .. })
        ));
    }

    #[test]
    fn the_signature_covers_the_canonical_form_whatever_the_layout() {
        let key = InstanceKey::generate().unwrap();
        let document = key.sign(&record(chain(), &key));
        // Pretty-printed, keys reordered by a round trip through another layout: still valid.
        let pretty = serde_json::to_vec_pretty(&document).unwrap();
        assert!(verify(&pretty, Some(&key.public_key())).is_ok());
    }

    #[test]
    fn any_change_to_the_record_breaks_the_signature() {
        let key = InstanceKey::generate().unwrap();
        let mut document = key.sign(&record(chain(), &key));
        document.record["inquiry"]["status"] = "closed".into();
        let bytes = serde_json::to_vec(&document).unwrap();
        assert_eq!(verify(&bytes, None), Err(RecordError::BadSignature));
    }

    #[test]
    fn an_altered_event_re_signed_by_the_instance_key_is_named_by_its_hash() {
        let key = InstanceKey::generate().unwrap();
        let mut events = chain();
        events[1].payload = Some(r#"{"note":"y"}"#.into());
        let document = signed(&record(events, &key), &key);
        match verify(&document, None) {
            Err(RecordError::Event {
                index: 1,
                seq: 2,
                reason,
            }) => {
                assert!(reason.contains("does not match its content"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_broken_link_between_neighbours_and_a_head_before_the_events_are_named() {
        let key = InstanceKey::generate().unwrap();
        let mut events = chain();
        events[1] = event(2, 2, &"b".repeat(64), Uuid::nil());
        let document = signed(&record(events, &key), &key);
        assert!(matches!(
            verify(&document, None),
            Err(RecordError::Event { index: 1, .. })
        ));

        let mut record = record(chain(), &key);
        record.chain_head.chain_seq = 3;
        assert!(matches!(
            verify(&signed(&record, &key), None),
            Err(RecordError::ChainHead(_))
        ));
    }

    #[test]
    fn a_record_without_hashes_verifies_its_signature_only() {
        let key = InstanceKey::generate().unwrap();
        let mut record = record(chain(), &key);
        for event in &mut record.events {
            event.payload = None;
            event.salt = None;
            event.prev_hash = None;
            event.hash = None;
        }
        let verified = verify(&signed(&record, &key), None).unwrap();
        assert!(!verified.hashes_checked);
    }

    #[test]
    fn the_key_file_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let (made, created) = InstanceKey::load_or_create(&path).unwrap();
        assert!(created);
        let (read, created) = InstanceKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(made.public_key(), read.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            InstanceKey::load_or_create(&path),
            Err(KeyError::Malformed { .. })
        ));
    }

    #[test]
    fn a_public_key_reads_as_base64_or_pem_and_refuses_the_rest() {
        let key = InstanceKey::generate().unwrap().public_key();
        assert_eq!(PublicKey::parse(&key.to_string()).unwrap(), key);
        assert_eq!(PublicKey::parse(&key.pem()).unwrap(), key);
        assert!(PublicKey::parse("AAAA").unwrap_err().contains("3 bytes"));
        assert!(PublicKey::parse("not base64!").is_err());
    }
}
