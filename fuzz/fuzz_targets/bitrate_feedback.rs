#![no_main]

libfuzzer_sys::fuzz_target!(|script: &[u8]| onbeat_fuzz::bitrate::run(script));
