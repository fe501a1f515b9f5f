//! ScoreInput/ScoreOutput/ScoreAction requests: protobuf decode, conversion, validation. See `warden_fuzz::request`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::request(data));
