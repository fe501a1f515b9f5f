//! The normaliser's folded view and its map back to the original bytes. See `warden_fuzz::normalise`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::normalise(data));
