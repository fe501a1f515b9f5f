//! The shell command analyser. See `warden_fuzz::shell`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::shell(data));
