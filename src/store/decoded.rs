//! The inquiries last decoded, each with the stored text it was decoded from.
//!
//! An inquiry is stored as the JSON of its state, and decoding it (every field checked as
//! on input) is the largest cost of a read after the query itself. A read that finds its
//! inquiry's text byte for byte equal to the text last decoded for that inquiry takes that
//! decoding instead. The text is read every time, so this is never stale: any change to an
//! inquiry changes its text, and a text another process wrote is decoded afresh.
//!
//! The texts kept total at most a budget (`--inquiry-cache`, 4 MiB by default; 0 keeps
//! none); past it the inquiries read least recently are let go.

use std::sync::{Arc, Mutex};

use hashlink::LruCache;
use uuid::Uuid;

use super::StoreError;
use super::inquiries::decode_inquiry;
use crate::protocol::Inquiry;

/// By default the texts kept total at most 4 MiB (the decodings take about as much again).
pub const DEFAULT_BUDGET_BYTES: usize = 4 << 20;

/// Decoded inquiries by id, least recently read first out.
#[derive(Debug)]
pub(super) struct DecodedInquiries {
    budget: usize,
    kept: Mutex<Kept>,
}

impl Default for DecodedInquiries {
    /// A cache of the default budget.
    fn default() -> Self {
        Self::new(DEFAULT_BUDGET_BYTES)
    }
}

#[derive(Debug)]
struct Kept {
    entries: LruCache<Uuid, (Box<str>, Arc<Inquiry>)>,
    /// The bytes of text in `entries`.
    bytes: usize,
}

impl DecodedInquiries {
    /// A cache of at most `budget` bytes of text (0: none is kept).
    pub(super) fn new(budget: usize) -> Self {
        Self {
            budget,
            kept: Mutex::new(Kept {
                entries: LruCache::new_unbounded(),
                bytes: 0,
            }),
        }
    }

    /// Inquiry `id` as `text` stores it: the decoding kept for that very text, or a new one
    /// (kept for the next read if it fits the budget).
    pub(super) fn decode(&self, id: Uuid, text: &str) -> Result<Arc<Inquiry>, StoreError> {
        if let Some((kept_text, inquiry)) = self.lock().entries.get(&id)
            && **kept_text == *text
        {
            return Ok(Arc::clone(inquiry));
        }
        let inquiry = Arc::new(decode_inquiry(text)?);
        if text.len() <= self.budget / 4 {
            let mut kept = self.lock();
            if let Some((old, _)) = kept.entries.insert(id, (text.into(), Arc::clone(&inquiry))) {
                kept.bytes -= old.len();
            }
            kept.bytes += text.len();
            while kept.bytes > self.budget {
                let Some((_, (old, _))) = kept.entries.remove_lru() else {
                    break;
                };
                kept.bytes -= old.len();
            }
        }
        Ok(inquiry)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many inquiries are kept, and their texts' bytes.
    #[cfg(test)]
    fn kept(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.entries.len(), kept.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An inquiry's stored text padded with spaces to `len` bytes (the same inquiry).
    fn text(store_text: &str, len: usize) -> String {
        let mut text = store_text.to_owned();
        while text.len() < len {
            text.push(' ');
        }
        text
    }

    /// The id and stored text of an inquiry (the bench fixture's, sent).
    async fn stored() -> (Uuid, String, tempfile::TempDir) {
        let (store, fixture, dir) = super::super::store_with_fixture().await;
        let id = fixture.inquiries[0];
        let text: String = super::super::dispatch!(store, pool => sqlx::query_scalar(
            "SELECT state FROM inquiries WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap());
        (id, text, dir)
    }

    #[tokio::test]
    async fn the_same_text_gives_the_same_decoding_and_another_text_a_new_one() {
        let (id, stored, _dir) = stored().await;
        let cache = DecodedInquiries::new(DEFAULT_BUDGET_BYTES);
        let first = cache.decode(id, &stored).unwrap();
        let again = cache.decode(id, &stored).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the same text is decoded once");

        // A changed inquiry (here: its version) is decoded from its new text.
        let changed = stored.replacen(
            &format!("\"version\":{}", first.version),
            &format!("\"version\":{}", first.version + 1),
            1,
        );
        assert_ne!(changed, stored);
        let fresh = cache.decode(id, &changed).unwrap();
        assert!(!Arc::ptr_eq(&first, &fresh));
        assert_eq!(fresh.version, first.version + 1);
        assert_eq!(cache.kept(), (1, changed.len()));

        // A text that does not decode is an error, never an earlier decoding.
        assert!(cache.decode(id, "{").is_err());
    }

    #[tokio::test]
    async fn texts_beyond_the_budget_are_let_go_least_recently_read_first() {
        let (_, stored, _dir) = stored().await;
        let len = stored.len().next_power_of_two();
        let cache = DecodedInquiries::new(4 * len);
        let ids: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
        let originals: Vec<Arc<Inquiry>> = ids[..4]
            .iter()
            .map(|id| cache.decode(*id, &text(&stored, len)).unwrap())
            .collect();
        assert_eq!(cache.kept(), (4, 4 * len));
        // The first is read again, so the second is the least recently read: the fifth
        // lets it go.
        let first = cache.decode(ids[0], &text(&stored, len)).unwrap();
        assert!(Arc::ptr_eq(&first, &originals[0]));
        cache.decode(ids[4], &text(&stored, len)).unwrap();
        assert_eq!(cache.kept(), (4, 4 * len));
        let first = cache.decode(ids[0], &text(&stored, len)).unwrap();
        assert!(
            Arc::ptr_eq(&first, &originals[0]),
            "the first is still kept"
        );
        let second = cache.decode(ids[1], &text(&stored, len)).unwrap();
        assert!(
            !Arc::ptr_eq(&second, &originals[1]),
            "the second was let go"
        );
        assert_eq!(cache.kept(), (4, 4 * len));
        // A text larger than a quarter of the budget is decoded, never kept.
        cache.decode(ids[5], &text(&stored, len + 1)).unwrap();
        assert_eq!(cache.kept(), (4, 4 * len));

        let none = DecodedInquiries::new(0);
        none.decode(ids[0], &stored).unwrap();
        assert_eq!(none.kept(), (0, 0));
    }
}
