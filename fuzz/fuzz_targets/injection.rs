//! The prompt-injection and jailbreak heuristics. See `warden_fuzz::injection`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::injection(data));
