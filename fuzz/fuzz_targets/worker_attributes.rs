//! Any text as a worker's `attributes`: never a panic, roles only from a list of strings.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twilio_connector::flex::workers::parse_attributes;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let a = parse_attributes(Some(text));
        assert!(a.roles.iter().all(|r| !r.trim().is_empty()));
    }
});
