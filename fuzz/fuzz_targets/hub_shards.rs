#![no_main]

libfuzzer_sys::fuzz_target!(|script: &[u8]| onbeat_fuzz::hub_shards::run(script));
