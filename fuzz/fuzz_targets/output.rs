//! ScoreOutput's rule checks: quantities, canaries, confidential values, reproduction. See
//! `warden_fuzz::output`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::output(data));
