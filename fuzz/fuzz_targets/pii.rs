//! The personal-data detector. See `warden_fuzz::pii`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::pii(data));
