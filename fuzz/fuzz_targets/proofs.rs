//! The Merkle inclusion and consistency proof verifiers. See `warden_fuzz::proofs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::proofs(data));
