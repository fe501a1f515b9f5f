//! The SQL analyser. See `warden_fuzz::sql`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::sql(data));
