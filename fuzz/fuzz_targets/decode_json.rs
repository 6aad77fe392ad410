#![no_main]

libfuzzer_sys::fuzz_target!(|frame: &[u8]| onbeat_fuzz::decode::json(frame));
