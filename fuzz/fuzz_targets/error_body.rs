//! Any bytes as an error answer: always a typed error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twilio_connector::errors::from_status;

fuzz_target!(|data: &[u8]| {
    for status in [400u16, 401, 403, 404, 429, 500, 503] {
        let e = from_status(status, data, None, "fuzz");
        assert!(!e.to_string().is_empty());
    }
});
