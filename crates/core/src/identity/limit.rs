//! Sign-in rate limits: a token bucket per login and per client address, in memory.
//!
//! Per instance: with several instances behind a balancer an attacker gets each instance's
//! allowance. The lock-out (stored, shared by every instance) is what bounds guessing of one
//! account overall; this limit slows spraying and keeps one client from burning Argon2 time.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// Attempts a key may make at once, and how many it gets back per minute.
pub const ATTEMPTS_PER_MINUTE: u32 = 10;
/// Keys remembered at most; past this the least recently seen are forgotten first.
pub const MAX_TRACKED_KEYS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    seen: Timestamp,
}

/// Token buckets keyed by text (`login:…`, `addr:…`).
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    max_keys: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Default for RateLimiter {
    fn default() -> RateLimiter {
        RateLimiter::new(ATTEMPTS_PER_MINUTE, MAX_TRACKED_KEYS)
    }
}

impl RateLimiter {
    pub fn new(per_minute: u32, max_keys: usize) -> RateLimiter {
        RateLimiter {
            capacity: f64::from(per_minute),
            per_second: f64::from(per_minute) / 60.0,
            max_keys: max_keys.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one attempt from every key's bucket, or none if any is empty: then returns how
    /// long until that bucket holds an attempt again.
    pub fn take(&self, keys: &[String], now: Timestamp) -> Result<(), SignedDuration> {
        // A poisoned lock means a panic elsewhere; the buckets are still plain numbers.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut wait = SignedDuration::ZERO;
        for key in keys {
            let tokens = buckets
                .get(key)
                .map_or(self.capacity, |b| self.refilled(b, now));
            if tokens < 1.0 {
                let secs = (1.0 - tokens) / self.per_second;
                wait = wait.max(SignedDuration::from_secs_f64(secs.ceil().max(1.0)));
            }
        }
        if wait > SignedDuration::ZERO {
            return Err(wait);
        }
        for key in keys {
            let tokens = buckets
                .get(key)
                .map_or(self.capacity, |b| self.refilled(b, now));
            if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
                self.make_room(&mut buckets, now);
            }
            buckets.insert(
                key.clone(),
                Bucket {
                    tokens: tokens - 1.0,
                    seen: now,
                },
            );
        }
        Ok(())
    }

    fn refilled(&self, bucket: &Bucket, now: Timestamp) -> f64 {
        let elapsed = now.duration_since(bucket.seen).as_secs_f64().max(0.0);
        (bucket.tokens + elapsed * self.per_second).min(self.capacity)
    }

    /// Forgets every full bucket (forgetting it changes nothing), and if that is not enough,
    /// the least recently seen one.
    fn make_room(&self, buckets: &mut HashMap<String, Bucket>, now: Timestamp) {
        buckets.retain(|_, b| self.refilled(b, now) < self.capacity);
        if buckets.len() >= self.max_keys {
            let oldest = buckets
                .iter()
                .min_by_key(|(_, b)| b.seen)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                buckets.remove(&oldest);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn ten_attempts_a_minute_per_key() {
        let limiter = RateLimiter::default();
        let keys = vec!["login:a".to_owned(), "addr:1".to_owned()];
        for _ in 0..10 {
            limiter.take(&keys, at(0)).unwrap();
        }
        let wait = limiter.take(&keys, at(0)).unwrap_err();
        assert_eq!(wait, SignedDuration::from_secs(6));
        // Another login from the same address is limited too; another address is not.
        assert!(
            limiter
                .take(&["login:b".to_owned(), "addr:1".to_owned()], at(0))
                .is_err()
        );
        limiter
            .take(&["login:b".to_owned(), "addr:2".to_owned()], at(0))
            .unwrap();
        // One attempt back every six seconds.
        limiter.take(&keys, at(6)).unwrap();
        assert!(limiter.take(&keys, at(6)).is_err());
    }

    #[test]
    fn a_refused_attempt_takes_from_no_bucket() {
        let limiter = RateLimiter::new(1, 100);
        limiter.take(&["a".to_owned()], at(0)).unwrap();
        assert!(
            limiter
                .take(&["b".to_owned(), "a".to_owned()], at(0))
                .is_err()
        );
        limiter.take(&["b".to_owned()], at(0)).unwrap();
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = RateLimiter::new(10, 3);
        for n in 0..100 {
            limiter.take(&[format!("k{n}")], at(n)).unwrap();
            assert!(limiter.len() <= 3);
        }
    }
}
