//! The worker's slots: how many attempts run at once, in all and per receiver, so that one
//! slow or failing receiver holds only its own slots and every other one keeps flowing.

use std::collections::HashMap;

use crate::store::deliveries::Saturated;

/// Who an attempt talks to: a webhook receiver (its origin, `scheme://host[:port]/`, as
/// [`super::target::origin_of`] writes it), or the SMTP relay that carries every e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Webhook(String),
    Relay,
    /// A webhook whose URL is gone or unusable: its attempt fails at once.
    Nowhere,
}

impl Target {
    /// The target of a delivery on `channel`, to `url` for a webhook.
    pub fn of(channel: &str, url: Option<&str>) -> Self {
        match channel {
            "email" => Target::Relay,
            _ => url
                .and_then(|url| super::target::parse(url).ok())
                .map_or(Target::Nowhere, |url| {
                    Target::Webhook(super::target::origin_of(&url))
                }),
        }
    }
}

/// Attempts in flight, in all and per target, against their limits.
#[derive(Debug)]
pub struct Slots {
    total: usize,
    per_target: usize,
    in_flight: HashMap<Target, usize>,
    used: usize,
}

impl Slots {
    /// At most `total` attempts at once, at most `per_target` of them to one target.
    pub fn new(total: usize, per_target: usize) -> Self {
        Self {
            total: total.max(1),
            per_target: per_target.max(1),
            in_flight: HashMap::new(),
            used: 0,
        }
    }

    /// How many more attempts may start now.
    pub fn free(&self) -> usize {
        self.total - self.used
    }

    /// How many attempts are in flight.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Takes a slot for an attempt to `target`, if both limits allow one.
    pub fn try_take(&mut self, target: &Target) -> bool {
        let held = self.in_flight.get(target).copied().unwrap_or(0);
        if self.used >= self.total || held >= self.per_target {
            return false;
        }
        *self.in_flight.entry(target.clone()).or_insert(0) += 1;
        self.used += 1;
        true
    }

    /// Gives back a slot taken for `target`.
    pub fn release(&mut self, target: &Target) {
        if let Some(held) = self.in_flight.get_mut(target) {
            *held -= 1;
            self.used -= 1;
            if *held == 0 {
                self.in_flight.remove(target);
            }
        }
    }

    /// The targets with no slot left, for the look for work to leave out.
    pub fn saturated(&self) -> Saturated {
        let mut saturated = Saturated::default();
        for (target, held) in &self.in_flight {
            if *held < self.per_target {
                continue;
            }
            match target {
                Target::Webhook(origin) => saturated.url_prefixes.push(origin.clone()),
                Target::Relay => saturated.email = true,
                Target::Nowhere => {}
            }
        }
        saturated.url_prefixes.sort();
        saturated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(origin: &str) -> Target {
        Target::Webhook(origin.into())
    }

    #[test]
    fn one_target_holds_at_most_its_own_slots() {
        let mut slots = Slots::new(8, 2);
        let slow = hook("https://slow.example/");
        assert!(slots.try_take(&slow));
        assert!(slots.try_take(&slow));
        assert!(!slots.try_take(&slow), "a third slot for one target");
        assert_eq!(slots.free(), 6);
        let other = hook("https://other.example/");
        assert!(slots.try_take(&other), "another target still flows");
        assert!(slots.try_take(&Target::Relay));
        assert_eq!(slots.used(), 4);
    }

    #[test]
    fn the_total_bounds_every_target_together() {
        let mut slots = Slots::new(3, 2);
        assert!(slots.try_take(&hook("https://a.example/")));
        assert!(slots.try_take(&hook("https://b.example/")));
        assert!(slots.try_take(&Target::Relay));
        assert!(!slots.try_take(&hook("https://c.example/")));
        assert_eq!(slots.free(), 0);
        slots.release(&hook("https://b.example/"));
        assert!(slots.try_take(&hook("https://c.example/")));
    }

    #[test]
    fn saturated_targets_are_left_out_of_the_look_for_work() {
        let mut slots = Slots::new(10, 2);
        let slow = hook("https://slow.example:8443/");
        slots.try_take(&slow);
        slots.try_take(&Target::Relay);
        assert_eq!(slots.saturated().url_prefixes, Vec::<String>::new());
        assert!(!slots.saturated().email);
        slots.try_take(&slow);
        slots.try_take(&Target::Relay);
        let saturated = slots.saturated();
        assert_eq!(saturated.url_prefixes, ["https://slow.example:8443/"]);
        assert!(saturated.email);
        slots.release(&slow);
        assert!(slots.saturated().url_prefixes.is_empty());
    }

    #[test]
    fn a_target_is_the_receivers_origin_or_the_relay() {
        assert_eq!(
            Target::of("webhook", Some("https://Hooks.example.org/a/b?token=x")),
            hook("https://hooks.example.org/")
        );
        assert_eq!(
            Target::of("webhook", Some("http://127.0.0.1:8080/x")),
            hook("http://127.0.0.1:8080/")
        );
        assert_eq!(Target::of("email", None), Target::Relay);
        assert_eq!(Target::of("webhook", None), Target::Nowhere);
    }
}
