//! On PostgreSQL, token reads (and reads of one inquiry) answered from memory, kept
//! current by the database's notifications.
//!
//! Every request reads its token, and a read of one inquiry the inquiry, in one query
//! ([`super::tokens::TOKEN_OWNER_QUERY`]). On PostgreSQL that query is a round trip to a
//! server process, and the round trip is most of what a read costs: a bare handler making
//! one `SELECT 1` for each request answers a sixth to a third of the requests a bare
//! handler answers (`cbm2 bench`), whatever the query asks.
//!
//! So a server on PostgreSQL keeps what those reads found, and the database tells it what
//! changed, whoever changed it (this instance, another one, the command line, SQL typed by
//! hand): migration 0016's triggers send a notification on the channel [`CHANNEL`] when a
//! token is revoked, when a POC or a member state changes (every token kept is then
//! forgotten: `owners`), and when an inquiry is updated or deleted (that inquiry is
//! forgotten: `inquiry <id>`; all of them if the table is truncated: `truncated`). The
//! server listens on a connection of its own.
//!
//! A notification arrives after its transaction commits: for that short time (on one
//! machine, well under a millisecond) a read answered from memory does not see the
//! commit. Never for longer than [`MAX_SILENCE`]: while reads are being answered, the
//! server sends itself a notification through the pool every [`PING_EVERY`] (`ping`), and
//! PostgreSQL delivers notifications in the order their transactions committed, so once
//! the ping sent at T is back, every change committed before T has been heard. Past
//! [`MAX_SILENCE`] without a ping back (the listening connection lost without a word, a
//! connection pooler that does not pass notifications on, a server too busy), memory is
//! not used: every read goes to the database, as without this module. When the listening
//! connection fails, everything kept is forgotten and the listener connects again.
//!
//! A read fills the memory only if nothing that could change its answer was heard while
//! it read ([`Ticket`]); tokens that are unknown or revoked are never kept (a caller
//! trying secrets fills nothing); at most [`CacheLimits::tokens`] tokens are kept
//! (`--cache-tokens`), and inquiries up to a budget of stored text (`--inquiry-cache`),
//! least recently read out first.
//! `--cache-reads false` turns all of it off: every read then goes to the database.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hashlink::LruCache;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::tokens::TokenOwnerRow;
use crate::protocol::Inquiry;

/// The channel migration 0016's triggers notify, and the pings go through.
pub const CHANNEL: &str = "cbm2_changes";

/// How often a ping is sent while reads are being answered.
pub const PING_EVERY: Duration = Duration::from_secs(1);

/// How old the last ping heard back may be for memory to answer a read: past it, every
/// read goes to the database until a ping comes back.
pub const MAX_SILENCE: Duration = Duration::from_secs(3);

/// How long a ping may take to be sent before it is given up (the next one goes anyway).
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Without a read answered for this long, no ping is sent (an idle server writes
/// nothing); the first reads after it go to the database until a ping is back.
const PING_WHILE_USED_WITHIN: Duration = Duration::from_secs(10);

/// By default at most this many tokens are kept (about 200 bytes each).
pub const DEFAULT_MAX_TOKENS: usize = 10_000;

/// The most tokens a setting may ask memory to keep.
pub const MAX_TOKENS_LIMIT: usize = 1_000_000;

/// How much memory keeps (`serve --cache-tokens`, `--inquiry-cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Tokens kept, least recently read out first (at least 1).
    pub tokens: usize,
    /// Bytes of stored text of the inquiries kept, least recently read out first.
    pub inquiry_bytes: usize,
}

/// The listener's wait before connecting again after a failure: doubled at each failure
/// in a row, up to [`RECONNECT_MOST`].
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_MOST: Duration = Duration::from_secs(30);

/// What a read of memory found.
pub(super) enum Recall {
    /// The token's owner (its inquiry state column empty) and, when one was asked for,
    /// the inquiry.
    Hit(TokenOwnerRow, Option<Arc<Inquiry>>),
    /// Not kept: read the database, then offer the answer to [`Listened::keep`] with the
    /// ticket (`None`: memory is not current, keep nothing).
    Miss(Option<Ticket>),
}

/// What had been heard when a read missed: its answer is kept only if nothing that could
/// change it was heard since.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket {
    owners: u64,
    inquiries: u64,
}

/// What memory did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Whether memory answers reads now (listening, and a ping heard back lately).
    pub current: bool,
    /// Reads answered from memory.
    pub hits: u64,
    /// Reads that went to the database.
    pub misses: u64,
    /// Tokens kept.
    pub owners: usize,
    /// Inquiries kept.
    pub inquiries: usize,
}

/// The memory of one store, and what its listener heard.
#[derive(Debug)]
pub(super) struct Listened {
    /// Told apart from other instances' pings.
    instance: Uuid,
    /// The most bytes of stored text the inquiries kept may total.
    budget: usize,
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Dropped with this, which stops the listener (which may be waiting on a quiet
    /// channel, holding its connection).
    _stop: Option<oneshot::Sender<()>>,
}

#[derive(Debug)]
struct State {
    /// The listener is connected and listening.
    listening: bool,
    /// When the last ping heard back was sent.
    confirmed: Option<Instant>,
    /// Pings sent, not yet heard back: number and when sent.
    pings: VecDeque<(u64, Instant)>,
    next_ping: u64,
    /// When memory was last asked.
    asked: Option<Instant>,
    /// Bumped by everything that forgets tokens: each of their notifications, and the
    /// listener starting or stopping.
    owners_epoch: u64,
    /// The same for inquiries.
    inquiries_epoch: u64,
    owners: LruCache<String, TokenOwnerRow>,
    /// Each inquiry with the length of its stored text.
    inquiries: LruCache<Uuid, (Arc<Inquiry>, usize)>,
    inquiry_bytes: usize,
}

impl State {
    fn current(&self, now: Instant) -> bool {
        self.listening
            && self
                .confirmed
                .is_some_and(|sent| now.saturating_duration_since(sent) < MAX_SILENCE)
    }

    fn forget_owners(&mut self) {
        self.owners.clear();
        self.owners_epoch += 1;
    }

    fn forget_inquiry(&mut self, id: Uuid) {
        if let Some((_, bytes)) = self.inquiries.remove(&id) {
            self.inquiry_bytes -= bytes;
        }
        self.inquiries_epoch += 1;
    }

    fn forget_kept(&mut self) {
        self.forget_owners();
        self.inquiries.clear();
        self.inquiry_bytes = 0;
        self.inquiries_epoch += 1;
    }

    fn forget_everything(&mut self) {
        self.forget_kept();
        self.confirmed = None;
        self.pings.clear();
    }
}

impl Listened {
    fn new(limits: CacheLimits) -> Self {
        Self {
            instance: Uuid::new_v4(),
            budget: limits.inquiry_bytes,
            state: Mutex::new(State {
                listening: false,
                confirmed: None,
                pings: VecDeque::new(),
                next_ping: 0,
                asked: None,
                owners_epoch: 0,
                inquiries_epoch: 0,
                owners: LruCache::new(limits.tokens.max(1)),
                inquiries: LruCache::new_unbounded(),
                inquiry_bytes: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            _stop: None,
        }
    }

    /// Starts the listener and the pings on `pool` (on the current tokio runtime); both
    /// stop once the returned handle is dropped, or the pool closed.
    pub(super) fn start(pool: PgPool, limits: CacheLimits) -> Arc<Self> {
        let (stop, stopped) = oneshot::channel();
        let listened = Arc::new(Self {
            _stop: Some(stop),
            ..Self::new(limits)
        });
        let listener = listen(pool.clone(), Arc::downgrade(&listened));
        tokio::spawn(async move {
            tokio::select! {
                _ = stopped => {}
                () = listener => {}
            }
        });
        tokio::spawn(ping(pool, Arc::downgrade(&listened)));
        listened
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The token whose secret hashes to `token_hash` and, if asked, inquiry
    /// `inquiry_id`, if memory holds both and is current.
    pub(super) fn recall(&self, token_hash: &str, inquiry_id: Option<Uuid>) -> Recall {
        let now = Instant::now();
        let mut state = self.lock();
        state.asked = Some(now);
        if !state.current(now) {
            drop(state);
            self.miss();
            return Recall::Miss(None);
        }
        let inquiry = match inquiry_id {
            None => Some(None),
            Some(id) => state
                .inquiries
                .get(&id)
                .map(|(inquiry, _)| Some(inquiry.clone())),
        };
        let owner = state.owners.get(token_hash).cloned();
        let ticket = Ticket {
            owners: state.owners_epoch,
            inquiries: state.inquiries_epoch,
        };
        drop(state);
        match (owner, inquiry) {
            (Some(owner), Some(inquiry)) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                crate::metrics::read_answered(true);
                Recall::Hit(owner, inquiry)
            }
            _ => {
                self.miss();
                Recall::Miss(Some(ticket))
            }
        }
    }

    fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        crate::metrics::read_answered(false);
    }

    /// Keeps what a read that missed found in the database: the token's owner, and the
    /// inquiry read with it (with the length of its stored text), unless something that
    /// could change them was heard since the read's ticket was taken.
    pub(super) fn keep(
        &self,
        ticket: Ticket,
        token_hash: &str,
        owner: &TokenOwnerRow,
        inquiry: Option<(Uuid, &Arc<Inquiry>, usize)>,
    ) {
        let mut state = self.lock();
        if !state.listening {
            return;
        }
        if state.owners_epoch == ticket.owners {
            let mut kept = owner.clone();
            kept.inquiry_state = None;
            state.owners.insert(token_hash.to_owned(), kept);
        }
        if let Some((id, inquiry, bytes)) = inquiry
            && state.inquiries_epoch == ticket.inquiries
            && bytes <= self.budget
        {
            if let Some((_, old)) = state.inquiries.insert(id, (inquiry.clone(), bytes)) {
                state.inquiry_bytes -= old;
            }
            state.inquiry_bytes += bytes;
            while state.inquiry_bytes > self.budget {
                match state.inquiries.remove_lru() {
                    Some((_, (_, bytes))) => state.inquiry_bytes -= bytes,
                    None => break,
                }
            }
        }
    }

    /// The token was just marked used at `at` (its `last_used_at`, which notifies no one):
    /// the kept copy says so too, so that it is not written again for a minute.
    pub(super) fn used(&self, token_hash: &str, at: DateTime<Utc>) {
        if let Some(owner) = self.lock().owners.get_mut(token_hash) {
            owner.last_used_at = Some(at);
        }
    }

    /// What memory did so far.
    pub(super) fn stats(&self) -> CacheStats {
        let state = self.lock();
        CacheStats {
            current: state.current(Instant::now()),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            owners: state.owners.len(),
            inquiries: state.inquiries.len(),
        }
    }

    /// The listener is listening: what was kept before may have missed notifications.
    fn started(&self) {
        let mut state = self.lock();
        state.forget_everything();
        state.listening = true;
    }

    /// The listener lost its connection: memory is no longer told what changes.
    fn stopped(&self) {
        let mut state = self.lock();
        state.forget_everything();
        state.listening = false;
    }

    /// A notification's payload, as migration 0016's triggers and [`ping`] write them.
    fn heard(&self, payload: &str) {
        let mut state = self.lock();
        let mut words = payload.split(' ');
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("owners"), None, ..) => state.forget_owners(),
            (Some("truncated"), None, ..) => state.forget_kept(),
            (Some("inquiry"), Some(id), None, _) if let Ok(id) = id.parse::<Uuid>() => {
                state.forget_inquiry(id);
            }
            (Some("ping"), Some(instance), Some(number), None) => {
                if instance != self.instance.to_string() {
                    return;
                }
                let Ok(number) = number.parse::<u64>() else {
                    return;
                };
                while let Some(&(sent_number, sent)) = state.pings.front()
                    && sent_number <= number
                {
                    state.pings.pop_front();
                    if sent_number == number {
                        state.confirmed = Some(sent);
                    }
                }
            }
            _ => {
                tracing::error!(
                    payload,
                    "a notification on {CHANNEL} does not parse: forgetting every read kept"
                );
                let listening = state.listening;
                state.forget_everything();
                state.listening = listening;
            }
        }
    }

    /// The payload of the next ping, if one is due: the listener is listening and memory
    /// was asked lately.
    fn next_ping(&self) -> Option<String> {
        let now = Instant::now();
        let mut state = self.lock();
        let asked_lately = state
            .asked
            .is_some_and(|asked| now.saturating_duration_since(asked) < PING_WHILE_USED_WITHIN);
        if !state.listening || !asked_lately {
            return None;
        }
        let number = state.next_ping;
        state.next_ping += 1;
        state.pings.push_back((number, now));
        // Pings lost (sent while the listener reconnected, say) are not waited for.
        while state.pings.len() > 8 {
            state.pings.pop_front();
        }
        Some(format!("ping {} {number}", self.instance))
    }
}

/// Forgets what a change of this instance's makes wrong when dropped: held by each
/// method of the store that makes such a change, it is dropped when the method returns,
/// after its commit. So this instance's next read sees the change at once, without waiting
/// for its notification (which arrives too, and forgets it again). A read that took its
/// [`Ticket`] before is not kept.
pub(crate) struct Forget<'a> {
    listened: Option<&'a Listened>,
    what: Forgotten,
}

enum Forgotten {
    Owners,
    Inquiry(Uuid),
}

impl<'a> Forget<'a> {
    /// Every token kept (a token, a POC or a member state changes).
    pub(super) fn owners(listened: Option<&'a Listened>) -> Self {
        Self {
            listened,
            what: Forgotten::Owners,
        }
    }

    /// Inquiry `id`.
    pub(super) fn inquiry(listened: Option<&'a Listened>, id: Uuid) -> Self {
        Self {
            listened,
            what: Forgotten::Inquiry(id),
        }
    }
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(listened) = self.listened {
            let mut state = listened.lock();
            match self.what {
                Forgotten::Owners => state.forget_owners(),
                Forgotten::Inquiry(id) => state.forget_inquiry(id),
            }
        }
    }
}

/// The listener: connects, listens on [`CHANNEL`], passes on what it hears; on a failure
/// forgets everything and connects again, waiting longer after each failure in a row.
async fn listen(pool: PgPool, listened: Weak<Listened>) {
    let mut wait = RECONNECT_FIRST;
    loop {
        if pool.is_closed() || listened.strong_count() == 0 {
            return;
        }
        match connect(&pool).await {
            Ok(mut listener) => {
                let Some(handle) = listened.upgrade() else {
                    return;
                };
                handle.started();
                drop(handle);
                tracing::info!(
                    "listening for changes on {CHANNEL}: token and inquiry reads are answered from memory once a ping comes back"
                );
                wait = RECONNECT_FIRST;
                let error = loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => match listened.upgrade() {
                            Some(handle) => handle.heard(notification.payload()),
                            None => return,
                        },
                        Ok(None) => break "the connection was lost".to_owned(),
                        Err(error) => break error.to_string(),
                    }
                };
                if let Some(handle) = listened.upgrade() {
                    handle.stopped();
                }
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(
                    %error,
                    "stopped listening for changes: every read goes to the database until the listener is back"
                );
            }
            Err(error) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(%error, retry_in = ?wait, "cannot listen for changes: every read goes to the database meanwhile");
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RECONNECT_MOST);
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // A lost connection ends the loop above, which forgets everything before listening again.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The pings: every [`PING_EVERY`], while reads are being answered, a notification to
/// itself through the pool.
async fn ping(pool: PgPool, listened: Weak<Listened>) {
    let mut every = tokio::time::interval(PING_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if pool.is_closed() {
            return;
        }
        let Some(payload) = listened.upgrade().map(|handle| handle.next_ping()) else {
            return;
        };
        let Some(payload) = payload else { continue };
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&payload)
            .execute(&pool);
        match tokio::time::timeout(PING_TIMEOUT, sent).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::debug!(%error, "a ping failed"),
            Err(_) => tracing::debug!("a ping took longer than {PING_TIMEOUT:?}: given up"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> TokenOwnerRow {
        TokenOwnerRow {
            id: Uuid::new_v4(),
            poc_id: None,
            member_state: None,
            poc_active: None,
            poc_role: None,
            participating: None,
            last_used_at: None,
            inquiry_state: Some("{}".into()),
        }
    }

    fn limits(inquiry_bytes: usize) -> CacheLimits {
        CacheLimits {
            tokens: DEFAULT_MAX_TOKENS,
            inquiry_bytes,
        }
    }

    /// Listening, and a ping sent now heard back.
    fn current() -> Listened {
        current_with(limits(1 << 20))
    }

    fn current_with(limits: CacheLimits) -> Listened {
        let listened = Listened::new(limits);
        listened.started();
        listened.lock().asked = Some(Instant::now());
        let ping = listened.next_ping().unwrap();
        listened.heard(&ping);
        listened
    }

    /// An inquiry (the bench fixture's), with the directory its database is in.
    async fn inquiry() -> (Arc<Inquiry>, tempfile::TempDir) {
        let (store, fixture, dir) = super::super::store_with_fixture().await;
        let inquiry = store
            .get_inquiry(fixture.inquiries[0])
            .await
            .unwrap()
            .unwrap();
        (Arc::new(inquiry), dir)
    }

    fn ticket_of(listened: &Listened, hash: &str) -> Ticket {
        match listened.recall(hash, None) {
            Recall::Miss(Some(ticket)) => ticket,
            Recall::Miss(None) => panic!("memory is not current"),
            Recall::Hit(..) => panic!("{hash} was kept"),
        }
    }

    #[test]
    fn a_kept_token_answers_until_its_owners_change() {
        let listened = current();
        let row = owner();
        let ticket = ticket_of(&listened, "h");
        listened.keep(ticket, "h", &row, None);
        match listened.recall("h", None) {
            Recall::Hit(kept, None) => {
                assert_eq!(kept.id, row.id);
                assert_eq!(kept.inquiry_state, None, "the inquiry is kept apart");
            }
            _ => panic!("the token was not kept"),
        }
        listened.heard("owners");
        assert!(matches!(listened.recall("h", None), Recall::Miss(Some(_))));
    }

    #[tokio::test]
    async fn an_answer_read_while_a_change_was_heard_is_not_kept() {
        let (inquiry, _dir) = inquiry().await;
        let listened = current();
        let ticket = ticket_of(&listened, "h");
        listened.heard("owners");
        listened.keep(ticket, "h", &owner(), None);
        assert!(matches!(listened.recall("h", None), Recall::Miss(_)));

        let id = Uuid::new_v4();
        let ticket = ticket_of(&listened, "h");
        listened.heard(&format!("inquiry {id}"));
        listened.keep(ticket, "h", &owner(), Some((id, &inquiry, 10)));
        assert!(
            matches!(listened.recall("h", Some(id)), Recall::Miss(_)),
            "the inquiry changed while it was read"
        );
        assert!(
            matches!(listened.recall("h", None), Recall::Hit(..)),
            "the token did not"
        );
        listened.keep(
            ticket_of(&listened, "h2"),
            "h2",
            &owner(),
            Some((id, &inquiry, 10)),
        );
        assert!(matches!(
            listened.recall("h2", Some(id)),
            Recall::Hit(_, Some(_))
        ));
        listened.heard(&format!("inquiry {id}"));
        assert!(matches!(listened.recall("h2", Some(id)), Recall::Miss(_)));
    }

    #[test]
    fn memory_is_not_used_without_a_recent_ping_or_a_listener() {
        let listened = current();
        listened.keep(ticket_of(&listened, "h"), "h", &owner(), None);
        let long_ago = Instant::now().checked_sub(MAX_SILENCE).unwrap();
        listened.lock().confirmed = Some(long_ago);
        assert!(matches!(listened.recall("h", None), Recall::Miss(None)));

        let listened = current();
        listened.keep(ticket_of(&listened, "h"), "h", &owner(), None);
        listened.stopped();
        assert!(matches!(listened.recall("h", None), Recall::Miss(None)));
        listened.started();
        assert!(
            matches!(listened.recall("h", None), Recall::Miss(None)),
            "listening again, but no ping back yet"
        );
        let ping = listened.next_ping().unwrap();
        listened.heard(&ping);
        assert!(
            matches!(listened.recall("h", None), Recall::Miss(Some(_))),
            "what was kept before the listener stopped is forgotten"
        );
    }

    #[test]
    fn only_this_instances_pings_confirm_and_a_stranger_payload_forgets_everything() {
        let listened = Listened::new(limits(1 << 20));
        listened.started();
        listened.lock().asked = Some(Instant::now());
        let ping = listened.next_ping().unwrap();
        let number = ping.rsplit(' ').next().unwrap();
        listened.heard(&format!("ping {} {number}", Uuid::new_v4()));
        assert!(!listened.stats().current, "another instance's ping");
        listened.heard(&ping);
        assert!(listened.stats().current);

        listened.keep(ticket_of(&listened, "h"), "h", &owner(), None);
        listened.heard("inquiry not-a-uuid");
        assert!(!listened.stats().current, "confirmation is forgotten too");
        assert_eq!(listened.stats().owners, 0);
    }

    #[tokio::test]
    async fn inquiries_are_kept_within_the_budget_least_recently_read_out_first() {
        let (inquiry, _dir) = inquiry().await;
        let listened = current_with(limits(25));
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            listened.keep(
                ticket_of(&listened, "x"),
                "h",
                &owner(),
                Some((*id, &inquiry, 10)),
            );
        }
        let kept: Vec<bool> = ids
            .iter()
            .map(|id| matches!(listened.recall("h", Some(*id)), Recall::Hit(..)))
            .collect();
        assert_eq!(kept, [false, true, true]);
        assert_eq!(listened.lock().inquiry_bytes, 20);
        listened.keep(
            ticket_of(&listened, "x"),
            "h",
            &owner(),
            Some((ids[0], &inquiry, 26)),
        );
        assert!(matches!(
            listened.recall("h", Some(ids[0])),
            Recall::Miss(_)
        ));
    }

    #[test]
    fn tokens_are_kept_up_to_the_limit_least_recently_read_out_first() {
        let listened = current_with(CacheLimits {
            tokens: 2,
            inquiry_bytes: 0,
        });
        for hash in ["a", "b"] {
            listened.keep(ticket_of(&listened, hash), hash, &owner(), None);
        }
        assert!(matches!(listened.recall("a", None), Recall::Hit(..)));
        listened.keep(ticket_of(&listened, "c"), "c", &owner(), None);
        let kept: Vec<bool> = ["a", "b", "c"]
            .iter()
            .map(|hash| matches!(listened.recall(hash, None), Recall::Hit(..)))
            .collect();
        assert_eq!(kept, [true, false, true], "b was read least recently");
    }

    /// A store whose memory is current and never hears a notification (it is on SQLite):
    /// only its own changes can forget what it kept.
    async fn deaf() -> (
        super::super::Store,
        crate::bench::Fixture,
        tempfile::TempDir,
    ) {
        let (mut store, fixture, dir) = super::super::store_with_fixture().await;
        store.listened = Some(Arc::new(current()));
        (store, fixture, dir)
    }

    async fn version(store: &super::super::Store, token: &str, id: Uuid) -> Option<i64> {
        let now = crate::clock::now();
        let (_, inquiry) = store
            .authenticate_with(token, now, Some(id))
            .await
            .unwrap()?;
        Some(inquiry.unwrap().version)
    }

    async fn accepted(store: &super::super::Store, token: &str) -> bool {
        let now = crate::clock::now();
        store.authenticate(token, now).await.unwrap().is_some()
    }

    fn hits(store: &super::super::Store) -> u64 {
        store.cache_stats().unwrap().hits
    }

    #[tokio::test]
    async fn the_stores_own_changes_forget_what_they_make_wrong() {
        use crate::domain::Principal;
        use crate::store::directory::{Actor, MemberStateChanges};

        let (store, fixture, _dir) = deaf().await;
        let (token, id) = (fixture.token.as_str(), fixture.inquiries[0]);
        let first = version(&store, token, id).await.unwrap();
        let before = hits(&store);
        assert_eq!(version(&store, token, id).await, Some(first));
        assert_eq!(hits(&store), before + 1, "kept");

        // A command on the inquiry.
        let action = crate::bench::message("Seen at once.").unwrap();
        crate::bench::command(&store, &fixture.caller, id, action)
            .await
            .unwrap();
        assert_eq!(version(&store, token, id).await, Some(first + 1));

        // The member state's participation.
        let Principal::Poc {
            member_state,
            poc_id,
            ..
        } = &fixture.caller.principal
        else {
            panic!("the fixture's caller is a POC");
        };
        let changes = MemberStateChanges {
            participating: Some(false),
            ..Default::default()
        };
        let now = crate::clock::now();
        store
            .update_member_state(Actor::CommandLine, member_state, &changes, now)
            .await
            .unwrap();
        let caller = store.authenticate(token, now).await.unwrap().unwrap();
        assert!(
            matches!(
                caller.principal,
                Principal::Poc {
                    participating: false,
                    ..
                }
            ),
            "{caller:?}"
        );

        // The POC's deactivation.
        store.authenticate(token, now).await.unwrap().unwrap();
        store
            .deactivate_poc(Actor::CommandLine, poc_id.0, now)
            .await
            .unwrap();
        assert!(!accepted(&store, token).await);
    }

    #[tokio::test]
    async fn a_token_revoked_by_the_store_is_refused_at_once() {
        use crate::store::directory::Actor;

        let (store, fixture, _dir) = deaf().await;
        let now = crate::clock::now();
        let caller = store
            .authenticate(&fixture.token, now)
            .await
            .unwrap()
            .unwrap();
        assert!(accepted(&store, &fixture.token).await);
        store
            .revoke_token(Actor::CommandLine, caller.token_id, now)
            .await
            .unwrap();
        assert!(!accepted(&store, &fixture.token).await);
    }
}
