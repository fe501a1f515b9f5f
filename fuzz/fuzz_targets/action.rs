//! The action analysers over a tool name and its JSON arguments (paths, URLs, money, recipients, SQL, shell). See `warden_fuzz::action`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::action(data));
