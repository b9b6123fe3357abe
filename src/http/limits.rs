//! The edge's limits: how long a connection and a request may take, how much work may be in
//! flight, and how fast one caller may go.
//!
//! The timeouts and the connection bound are applied where connections are served
//! ([`super::server`]) and by the layers of [`super::app`]; the rate limits where the
//! caller is known, in the [`crate::domain::Caller`] extractor.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::domain::Principal;

/// The limits of the HTTP edge. `Default` gives those of `cbm2 serve`.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// From a connection's opening, or the end of the previous answer on a kept-alive
    /// connection, until a request's headers have arrived in full; past it the connection
    /// is closed (a client that trickles its headers holds nothing for long).
    pub header_read_timeout: Duration,
    /// A connection on which nothing moves while no request is being answered is closed
    /// after this long (idle keep-alive, or a client that stops reading its answer).
    pub keep_alive_timeout: Duration,
    /// From a request's headers to its answer; past it the request is abandoned and
    /// answered 503 with `Retry-After`.
    pub request_timeout: Duration,
    /// Connections open at once; past it, new connections wait to be accepted, so a flood
    /// cannot exhaust the process's file descriptors.
    pub max_connections: usize,
    /// Requests being answered at once; past it, a request is answered 503 with
    /// `Retry-After` at once (load shedding) rather than queued.
    pub max_in_flight: usize,
    /// Per-caller rate limits; `None` switches them off.
    pub rate_limits: Option<RateLimits>,
    /// The largest directory file `POST /v1/pocs/import` reads, in bytes (413 past it);
    /// every other body is held to the API's fixed 64 KiB.
    pub import_body_limit: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_in_flight: 256,
            rate_limits: Some(RateLimits::default()),
            import_body_limit: crate::directory_file::IMPORT_LIMIT_BYTES,
        }
    }
}

/// A token bucket: `burst` requests at once, then `per_second` a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        Some(Self {
            per_second: NonZeroU32::new(per_second)?,
            burst: NonZeroU32::new(burst)?,
        })
    }

    fn quota(self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

/// How fast one caller may go. A person clicking through the API never meets these; a
/// script looping on it is stopped within a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests that may change something (every method but GET and HEAD), per principal.
    pub writes: Rate,
    /// GET and HEAD requests, per principal.
    pub reads: Rate,
    /// Requests without a valid token, per client address (an IPv6 client by its /64).
    pub unauthenticated: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        let rate = |per_second, burst| Rate::new(per_second, burst).expect("non-zero");
        Self {
            writes: rate(5, 20),
            reads: rate(20, 100),
            unauthenticated: rate(5, 20),
        }
    }
}

/// Whom a principal's requests are counted against: every token of a POC shares its
/// POC's budget, every Secretariat token the Secretariat's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum PrincipalKey {
    Secretariat,
    Poc(Uuid),
}

impl From<&Principal> for PrincipalKey {
    fn from(principal: &Principal) -> Self {
        match principal {
            Principal::Secretariat => PrincipalKey::Secretariat,
            Principal::Poc { poc_id, .. } => PrincipalKey::Poc(poc_id.0),
        }
    }
}

/// After how many checks of client addresses the address table is pruned of addresses
/// whose buckets are full again (they would start afresh anyway).
const PRUNE_ADDRESSES_EVERY: u32 = 1024;

/// The rate limiters of one server (governor's GCRA, one bucket per key, in memory: each
/// instance counts its own requests).
pub struct RateLimiter {
    writes: DefaultKeyedRateLimiter<PrincipalKey>,
    reads: DefaultKeyedRateLimiter<PrincipalKey>,
    unauthenticated: DefaultKeyedRateLimiter<IpAddr>,
    address_checks: AtomicU32,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(limits: &RateLimits) -> Self {
        Self {
            writes: DefaultKeyedRateLimiter::dashmap(limits.writes.quota()),
            reads: DefaultKeyedRateLimiter::dashmap(limits.reads.quota()),
            unauthenticated: DefaultKeyedRateLimiter::dashmap(limits.unauthenticated.quota()),
            address_checks: AtomicU32::new(0),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request of an authenticated principal; `Err` says how long to wait.
    pub fn check_principal(&self, principal: &Principal, write: bool) -> Result<(), Duration> {
        let limiter = if write { &self.writes } else { &self.reads };
        limiter
            .check_key(&PrincipalKey::from(principal))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Counts one request without a valid token from `address`; `Err` says how long to
    /// wait.
    pub fn check_address(&self, address: IpAddr) -> Result<(), Duration> {
        if self
            .address_checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_ADDRESSES_EVERY)
        {
            self.unauthenticated.retain_recent();
            self.unauthenticated.shrink_to_fit();
        }
        self.unauthenticated
            .check_key(&address_key(address))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// The key of a client address: itself for IPv4 (and IPv4-mapped IPv6), the /64 prefix
/// for IPv6, since one IPv6 client usually holds a whole /64.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MemberStateCode, PocId};

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_burst_is_served_then_refused_with_a_wait_and_other_principals_are_not_touched() {
        let limiter = RateLimiter::new(&RateLimits {
            writes: Rate::new(1, 3).unwrap(),
            ..RateLimits::default()
        });
        let poc = |id| Principal::Poc {
            poc_id: PocId(Uuid::from_u128(id)),
            member_state: MemberStateCode::parse("CHL").unwrap(),
            role: crate::domain::PocRole::Policy,
            participating: true,
        };
        for _ in 0..3 {
            assert_eq!(limiter.check_principal(&poc(1), true), Ok(()));
        }
        let wait = limiter.check_principal(&poc(1), true).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert_eq!(
            limiter.check_principal(&poc(1), false),
            Ok(()),
            "reads apart"
        );
        assert_eq!(limiter.check_principal(&poc(2), true), Ok(()));
        assert_eq!(
            limiter.check_principal(&Principal::Secretariat, true),
            Ok(())
        );
    }
}
