//! The journal reader: a log written to disk, replayed and verified, its records read back. See `warden_fuzz::journal`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::journal(data));
