//! Any bytes as a list page: a typed error or a page whose next link stays on the host.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twilio_connector::paging::parse_page;

fuzz_target!(|data: &[u8]| {
    for key in ["accounts", "workers", "users"] {
        if let Ok(page) = parse_page::<serde_json::Value>("api.twilio.com", data, key, "fuzz") {
            if let Some(next) = page.next_url {
                // The authority, compared whole: `api.twilio.com.evil.example` or
                // `api.twilio.com@evil.example` must never pass.
                let rest = next.strip_prefix("https://").expect("https");
                let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                assert!(authority.eq_ignore_ascii_case("api.twilio.com"), "{next}");
            }
        }
    }
});
