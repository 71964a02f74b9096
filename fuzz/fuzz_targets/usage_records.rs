//! Any bytes as a usage record list: never a panic; the latest date is never before a service's.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twilio_connector::twilio::usage::{Activity, UsageRecord};

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = serde_json::from_slice::<Vec<UsageRecord>>(data) {
        let a = Activity::from_records(&records);
        for d in a.services.values() {
            assert!(Some(*d) <= a.last());
        }
        let _ = a.months_to_refine();
    }
});
