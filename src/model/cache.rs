//! A bounded content-hash cache of model outputs: the same system prompt or
//! retrieved document sent with every request is encoded once.
//!
//! Keys are SHA-256 digests of the text, so a cached entry can only be hit by
//! the same bytes. When full, the least recently used tenth is evicted in one
//! sweep, which keeps lookups lock-free per shard and eviction amortised.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use sha2::{Digest, Sha256};

pub type Key = [u8; 32];

pub fn key(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

struct Slot<V> {
    value: Arc<V>,
    used: AtomicU64,
}

pub struct ContentCache<V> {
    map: DashMap<Key, Slot<V>>,
    capacity: usize,
    clock: AtomicU64,
}

impl<V> ContentCache<V> {
    /// A cache of at most `capacity` entries; 0 turns caching off.
    pub fn new(capacity: usize) -> Self {
        Self { map: DashMap::new(), capacity, clock: AtomicU64::new(0) }
    }

    pub fn get(&self, key: &Key) -> Option<Arc<V>> {
        let slot = self.map.get(key)?;
        slot.used.store(self.clock.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Some(slot.value.clone())
    }

    pub fn insert(&self, key: Key, value: Arc<V>) {
        if self.capacity == 0 {
            return;
        }
        if self.map.len() >= self.capacity && !self.map.contains_key(&key) {
            self.evict();
        }
        let used = AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed));
        self.map.insert(key, Slot { value, used });
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Drops the least recently used tenth (at least one entry).
    fn evict(&self) {
        let mut ages: Vec<u64> = self.map.iter().map(|s| s.used.load(Ordering::Relaxed)).collect();
        let drop = (self.capacity / 10).max(1).min(ages.len());
        if drop == 0 {
            return;
        }
        let (_, cutoff, _) = ages.select_nth_unstable(drop - 1);
        let cutoff = *cutoff;
        self.map.retain(|_, s| s.used.load(Ordering::Relaxed) > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_keeps_what_is_used() {
        let cache = ContentCache::new(20);
        for i in 0..20 {
            cache.insert(key(&format!("text {i}")), Arc::new(i));
        }
        // Touch the first five so they are the most recently used.
        for i in 0..5 {
            assert_eq!(*cache.get(&key(&format!("text {i}"))).unwrap(), i);
        }
        for i in 20..60 {
            cache.insert(key(&format!("text {i}")), Arc::new(i));
            assert!(cache.len() <= 20, "never above capacity");
        }
        assert!(cache.get(&key("text 7")).is_none(), "old, unused entries went first");
        assert!(cache.get(&key("text 59")).is_some());
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let cache = ContentCache::new(0);
        cache.insert(key("a"), Arc::new(1));
        assert!(cache.get(&key("a")).is_none());
    }
}
