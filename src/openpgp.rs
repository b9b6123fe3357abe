//! A POC's OpenPGP public key, and e-mails encrypted to it (PGP/MIME, RFC 3156) with the
//! `pgp` crate. A key is checked when it is saved: it parses, its self-signatures verify,
//! it is neither revoked nor expired, and it has a key able to encrypt (a subkey, or the
//! primary key, whose binding allows encryption and has not expired).

use chrono::{DateTime, TimeZone, Utc};
use pgp::composed::{ArmorOptions, Deserializable, MessageBuilder, SignedPublicKey};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::Signature;
use pgp::types::KeyDetails;

/// The largest armored key taken, in bytes (well within the API's 64 KiB bodies).
pub const MAX_KEY_BYTES: usize = 32 * 1024;

/// A public key fit to encrypt to.
#[derive(Debug, Clone)]
pub struct RecipientKey {
    key: SignedPublicKey,
    /// Which subkey encrypts (`None`: the primary key).
    subkey: Option<usize>,
    /// The primary key's fingerprint, uppercase hexadecimal.
    pub fingerprint: String,
    /// When the key (or its encryption subkey) stops being usable, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

fn instant(secs: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(i64::from(secs), 0)
        .single()
        .expect("a 32-bit timestamp is a valid instant")
}

/// When a component created at `created` stops being valid under its newest binding
/// signature `signature` (`None`: never).
fn expiry(created: u32, signature: &Signature) -> Option<DateTime<Utc>> {
    signature
        .key_expiration_time()
        .map(|d| d.as_secs())
        .filter(|secs| *secs != 0)
        .map(|secs| instant(created) + chrono::TimeDelta::seconds(i64::from(secs)))
}

fn newest(signatures: &[Signature]) -> Option<&Signature> {
    signatures
        .iter()
        .max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0))
}

impl RecipientKey {
    /// Reads an ASCII-armored public key and checks that it can be encrypted to at `now`.
    pub fn read(armored: &str, now: DateTime<Utc>) -> Result<Self, String> {
        if armored.len() > MAX_KEY_BYTES {
            return Err(format!("longer than {MAX_KEY_BYTES} bytes"));
        }
        let (key, _) = SignedPublicKey::from_string(armored.trim()).map_err(|e| {
            format!("is not an ASCII-armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK-----): {e}")
        })?;
        key.verify_bindings()
            .map_err(|e| format!("its self-signatures do not verify: {e}"))?;
        if !key.details.revocation_signatures.is_empty() {
            return Err("is revoked".into());
        }
        let created = key.primary_key.created_at().as_secs();
        let user_signatures: Vec<Signature> = key
            .details
            .users
            .iter()
            .flat_map(|u| u.signatures.iter().cloned())
            .collect();
        let self_signature =
            newest(&key.details.direct_signatures).or_else(|| newest(&user_signatures));
        let primary_expires = self_signature.and_then(|s| expiry(created, s));
        if let Some(at) = primary_expires
            && at <= now
        {
            return Err(format!("expired on {}", at.to_rfc3339()));
        }
        let fingerprint = hex::encode_upper(key.primary_key.fingerprint().as_bytes());
        // An encryption subkey, the newest first; else the primary key itself.
        let mut usable: Vec<(usize, u32, Option<DateTime<Utc>>)> = key
            .public_subkeys
            .iter()
            .enumerate()
            .filter_map(|(index, subkey)| {
                let binding = newest(&subkey.signatures)?;
                let flags = binding.key_flags();
                let created = subkey.key.created_at().as_secs();
                let expires = expiry(created, binding);
                let fit = (flags.encrypt_comms() || flags.encrypt_storage())
                    && subkey.key.algorithm().can_encrypt()
                    && expires.is_none_or(|at| at > now);
                fit.then_some((index, created, expires))
            })
            .collect();
        usable.sort_by_key(|(_, created, _)| std::cmp::Reverse(*created));
        if let Some((index, _, expires)) = usable.first() {
            let expires_at = match (primary_expires, *expires) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            return Ok(Self {
                subkey: Some(*index),
                fingerprint,
                expires_at,
                key,
            });
        }
        let primary_encrypts = self_signature.is_some_and(|s| {
            let flags = s.key_flags();
            flags.encrypt_comms() || flags.encrypt_storage()
        }) && key.primary_key.algorithm().can_encrypt();
        if !primary_encrypts {
            return Err("has no key able to encrypt (no valid encryption subkey)".into());
        }
        Ok(Self {
            subkey: None,
            fingerprint,
            expires_at: primary_expires,
            key,
        })
    }

    /// `plaintext` encrypted to this key, as an ASCII-armored OpenPGP message.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, String> {
        let mut rng = rand::thread_rng();
        let mut builder = MessageBuilder::from_bytes("", plaintext.to_vec())
            .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
        match self.subkey {
            Some(index) => builder.encrypt_to_key(&mut rng, &self.key.public_subkeys[index]),
            None => builder.encrypt_to_key(&mut rng, &self.key),
        }
        .map_err(|e| format!("cannot encrypt to the key: {e}"))?;
        builder
            .to_armored_string(&mut rng, ArmorOptions::default())
            .map_err(|e| format!("cannot encrypt to the key: {e}"))
    }
}

/// An ASCII-armored public key as a POC's record keeps it: checked, when read from a
/// request, to be one [`RecipientKey::read`] takes now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct ArmoredKey {
    pub armored: String,
    pub fingerprint: String,
}

impl TryFrom<String> for ArmoredKey {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let key = RecipientKey::read(&text, crate::clock::now())?;
        Ok(Self {
            armored: text.trim().to_owned(),
            fingerprint: key.fingerprint,
        })
    }
}
