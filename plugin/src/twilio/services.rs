//! The usage-category -> Twilio service table. A category belongs to the service of the
//! longest prefix that matches it whole or up to a `-`; aggregate categories are no service;
//! an unknown category is a service of its own name.

/// Aggregate categories that sum other categories and so name no service.
const AGGREGATES: &[&str] = &["totalprice"];

/// `(category prefix, service name)`, from Twilio's documented usage categories.
const SERVICE_TABLE: &[(&str, &str)] = &[
    ("sms", "Messaging"),
    ("mms", "Messaging"),
    ("shortcodes", "Messaging"),
    ("a2p-registration-fees", "Messaging"),
    ("a2p-10dlc-registrationfees", "Messaging"),
    ("channels", "Messaging"),
    ("rcs-messages", "Messaging"),
    ("calls", "Voice"),
    ("sip", "Voice"),
    ("recordings", "Voice"),
    ("recordingstorage", "Voice"),
    ("transcriptions", "Voice"),
    ("voice-insights", "Voice"),
    ("amazon-polly", "Voice"),
    ("answering-machine-detection", "Voice"),
    ("speech-recognition", "Voice"),
    ("conversation-relay", "Voice"),
    ("trunking", "Elastic SIP Trunking"),
    ("phonenumbers", "Phone Numbers"),
    ("pfax", "Fax"),
    ("fax", "Fax"),
    ("verify", "Verify"),
    ("authy", "Verify"),
    ("lookups", "Lookup"),
    ("lookup", "Lookup"),
    ("taskrouter", "TaskRouter"),
    ("flex", "Flex"),
    ("conversations", "Conversations"),
    ("chat", "Conversations"),
    ("ip-messaging", "Conversations"),
    ("video", "Video"),
    ("group-rooms", "Video"),
    ("peer-to-peer-rooms", "Video"),
    ("sync", "Sync"),
    ("notify", "Notify"),
    ("proxy", "Proxy"),
    ("studio", "Studio"),
    ("functions", "Serverless"),
    ("serverless", "Serverless"),
    ("wireless", "Wireless"),
    ("marketplace", "Marketplace"),
    ("turnmegabytes", "Network Traversal"),
    ("autopilot", "Autopilot"),
    ("frontline", "Frontline"),
    ("event-streams", "Event Streams"),
    ("premiumsupport", "Support"),
];

/// The service a usage category belongs to; `None` for aggregates.
pub fn service_for_category(category: &str) -> Option<String> {
    let category = category.trim();
    if category.is_empty() || AGGREGATES.contains(&category) {
        return None;
    }
    let best = SERVICE_TABLE
        .iter()
        .filter(|(prefix, _)| {
            category == *prefix
                || category
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|(prefix, _)| prefix.len());
    Some(match best {
        Some((_, service)) => (*service).to_string(),
        None => category.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_and_mms_are_one_messaging_service() {
        for c in [
            "sms",
            "sms-inbound-longcode",
            "mms-outbound",
            "mms",
            "shortcodes-customerowned",
        ] {
            assert_eq!(service_for_category(c).as_deref(), Some("Messaging"), "{c}");
        }
    }

    #[test]
    fn voice_verify_and_others() {
        assert_eq!(
            service_for_category("calls-inbound-tollfree").as_deref(),
            Some("Voice")
        );
        assert_eq!(
            service_for_category("verify-push").as_deref(),
            Some("Verify")
        );
        assert_eq!(
            service_for_category("taskrouter-tasks").as_deref(),
            Some("TaskRouter")
        );
        assert_eq!(
            service_for_category("phonenumbers-local").as_deref(),
            Some("Phone Numbers")
        );
    }

    #[test]
    fn prefix_must_end_at_a_dash() {
        // "smsfoo" is not an SMS category: it keeps its own name.
        assert_eq!(service_for_category("smsfoo").as_deref(), Some("smsfoo"));
    }

    #[test]
    fn aggregates_are_no_service_and_unknowns_keep_their_name() {
        assert_eq!(service_for_category("totalprice"), None);
        assert_eq!(
            service_for_category("quantum-teleport").as_deref(),
            Some("quantum-teleport")
        );
    }
}
