//! The secrets detector (gitleaks rules). See `warden_fuzz::secrets`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::secrets(data));
