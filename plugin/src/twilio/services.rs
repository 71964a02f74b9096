//! The usage-category -> Twilio service table, covering every category Twilio documents
//! (`../shared/twilio-usage/categories.txt`, a test holds the table to it). A category belongs
//! to the service of the longest prefix that matches it whole or up to a `-`, else of a
//! suffix rule (`…lookups` is Lookup). Totals, billing adjustments and internal test entries
//! are no service and no one's activity. An undocumented category is a service of its own
//! name, so new Twilio products still show up.

/// Categories that are not a user's activity: totals, credits, minimum-spend and bucket
/// adjustments, placeholders and Twilio's internal test entries.
const NOT_ACTIVITY: &[&str] = &[
    "totalprice",
    "credit-transfer",
    "min-spend-adjustments",
    "test-quota-buckets",
    "bundle-sms-bucket",
    "category",
    "demo",
    "demo-uc-script-test",
    "test-uc-script-1",
    "test-uc-script-demo-2",
];

/// Suffixes of billing adjustments (`authy-bucket-adjustment`, `smsmessages-bucket-adjustments`…).
const NOT_ACTIVITY_SUFFIXES: &[&str] = &["-bucket-adjustment", "-bucket-adjustments"];

/// `(category prefix, service name)`.
const SERVICE_TABLE: &[(&str, &str)] = &[
    // Messaging: SMS, MMS, short codes, registration fees, channels (WhatsApp…), RCS.
    ("sms", "Messaging"),
    ("smsmessages", "Messaging"),
    ("mms", "Messaging"),
    ("shortcodes", "Messaging"),
    ("short-code-setup-fees", "Messaging"),
    ("longcode-mps", "Messaging"),
    ("a2p-registration-fees", "Messaging"),
    ("a2p-10dlc-registrationfees", "Messaging"),
    ("a2p-fast-track-onboarding", "Messaging"),
    ("channels", "Messaging"),
    ("rcs", "Messaging"),
    ("rcs-messages", "Messaging"),
    ("usage-rcs", "Messaging"),
    ("usage-rcs-messages", "Messaging"),
    ("usage-rcs-basic-messages-outbound", "Messaging"),
    ("usage-rcs-single-messages-outbound", "Messaging"),
    ("usage-rcs-messaging-carrier-fees", "Messaging"),
    ("usage-programmable-messaging-engagement-suite", "Messaging"),
    ("usage-programmable-messaging-fees-services", "Messaging"),
    ("engagement-suite-packaged-plans", "Messaging"),
    ("failed-message-processing-fee", "Messaging"),
    ("experiment-france-sms", "Messaging"),
    ("experiment-india-sms", "Messaging"),
    ("experiment-uk-sms", "Messaging"),
    ("bundle-subscription-fees", "Messaging"),
    ("mediastorage", "Messaging"),
    ("tme", "Messaging"),
    // Voice: calls, SIP, recordings, TwiML, text to speech, PSTN and client connectivity.
    ("calls", "Voice"),
    ("call-progess-events", "Voice"),
    ("cps", "Voice"),
    ("conference", "Voice"),
    ("agent-conference", "Voice"),
    ("sip", "Voice"),
    ("sip-secure-media", "Voice"),
    ("recordings", "Voice"),
    ("recordingstorage", "Voice"),
    ("live-media-recording-minutes", "Voice"),
    ("transcriptions", "Voice"),
    ("voice-insights", "Voice"),
    ("amazon-polly", "Voice"),
    ("answering-machine-detection", "Voice"),
    ("speech-recognition", "Voice"),
    ("conversation-relay", "Voice"),
    ("text-to-speech", "Voice"),
    ("tts", "Voice"),
    ("twiml", "Voice"),
    ("twiml-verbs", "Voice"),
    ("ivr", "Voice"),
    ("branded-calling", "Voice"),
    ("pstnconnectivity", "Voice"),
    ("programmablevoice-platform", "Voice"),
    ("programmablevoiceconn", "Voice"),
    ("programmablevoiceconn-clientsdk", "Voice"),
    ("programmablevoiceconn-onnet", "Voice"),
    ("programmablevoiceconn-sip", "Voice"),
    ("programmablevoiceconnectivity", "Voice"),
    ("prog-voice-client", "Voice"),
    ("voice", "Voice"),
    ("virtual-agent", "Voice"),
    ("chat-virtual-agent", "Voice"),
    ("twilio-interconnect", "Voice"),
    // Elastic SIP Trunking.
    ("trunking", "Elastic SIP Trunking"),
    ("elastic-sip-trunking", "Elastic SIP Trunking"),
    // Phone numbers.
    ("phonenumbers", "Phone Numbers"),
    ("reassigned-number", "Phone Numbers"),
    // Lookup (see also the `lookups` suffix rule).
    ("lookups", "Lookup"),
    ("lookup", "Lookup"),
    ("lookup-identity-match", "Lookup"),
    ("calleridlookups", "Lookup"),
    // Verify and account security.
    ("verify", "Verify"),
    ("authy", "Verify"),
    ("account-security", "Verify"),
    // Fax.
    ("pfax", "Fax"),
    ("fax", "Fax"),
    // Video: rooms, compositions, recordings.
    ("video", "Video"),
    ("pv", "Video"),
    ("pvideo", "Video"),
    ("group-rooms", "Video"),
    ("small-group-rooms", "Video"),
    ("peer-to-peer-rooms", "Video"),
    ("basic-peer-to-peer-rooms", "Video"),
    ("media-composer-minutes", "Video"),
    // Twilio Live.
    ("live", "Live"),
    ("audience-minutes", "Live"),
    // Chat and Conversations.
    ("pchat", "Chat"),
    ("chat", "Chat"),
    ("ip-messaging", "Chat"),
    ("conversations", "Conversations"),
    // Contact centre and intelligence.
    ("taskrouter", "TaskRouter"),
    ("task-router", "TaskRouter"),
    ("flex", "Flex"),
    ("usage-flex-video", "Flex"),
    ("frontline", "Frontline"),
    ("conversational-insights", "Conversational Intelligence"),
    ("voice-intelligence", "Conversational Intelligence"),
    ("ai-assistants", "AI Assistants"),
    ("agent-copilot", "AI Assistants"),
    ("autopilot", "Autopilot"),
    // Platform services.
    ("sync", "Sync"),
    ("notify", "Notify"),
    ("proxy", "Proxy"),
    ("studio", "Studio"),
    ("functions", "Serverless"),
    ("usage-functions", "Serverless"),
    ("serverless", "Serverless"),
    ("assets", "Serverless"),
    ("events", "Event Streams"),
    ("event-streams", "Event Streams"),
    ("monitor", "Monitor"),
    ("turnmegabytes", "Network Traversal"),
    ("video-rooms-turn-megabytes", "Network Traversal"),
    ("email", "Email"),
    // IoT.
    ("wireless", "Wireless"),
    ("supersim", "Wireless"),
    // Add-ons and payments.
    ("marketplace", "Marketplace"),
    ("marketplay-pay-addons", "Marketplace"),
    ("payment-gateway-connectors", "Payments"),
    ("payment-solutions", "Payments"),
    ("generic-pay-transactions", "Payments"),
    // Plans, support and professional services.
    ("premiumsupport", "Support"),
    ("advisory-services", "Support"),
    ("enterprise", "Enterprise Plan"),
    ("twilio-editions", "Enterprise Plan"),
    ("twilio-for-salesforce", "Twilio for Salesforce"),
    ("emerging-tech", "Emerging Technology"),
    ("imp-v1-usage", "Emerging Technology"),
    ("wds", "Emerging Technology"),
];

/// `(category suffix, service name)`, for categories no prefix claims.
const SUFFIX_TABLE: &[(&str, &str)] = &[("lookups", "Lookup")];

/// What a usage category is for the connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Category {
    /// Usage of a documented service.
    Service(&'static str),
    /// A total, an adjustment or a test entry: nobody's activity.
    NotActivity,
    /// Not in the table: a service of its own name.
    Unknown(String),
}

/// Classify a usage category.
pub fn classify(category: &str) -> Category {
    let category = category.trim();
    if category.is_empty()
        || NOT_ACTIVITY.contains(&category)
        || NOT_ACTIVITY_SUFFIXES.iter().any(|s| category.ends_with(s))
    {
        return Category::NotActivity;
    }
    let by_prefix = SERVICE_TABLE
        .iter()
        .filter(|(prefix, _)| {
            category == *prefix
                || category
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|(prefix, _)| prefix.len());
    if let Some((_, service)) = by_prefix {
        return Category::Service(service);
    }
    match SUFFIX_TABLE
        .iter()
        .find(|(suffix, _)| category.ends_with(suffix))
    {
        Some((_, service)) => Category::Service(service),
        None => Category::Unknown(category.to_string()),
    }
}

/// The service a usage category counts for; `None` for totals, adjustments and test entries.
pub fn service_for_category(category: &str) -> Option<String> {
    match classify(category) {
        Category::Service(s) => Some(s.to_string()),
        Category::NotActivity => None,
        Category::Unknown(c) => Some(c),
    }
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
    fn every_documented_category_is_mapped_or_deliberately_excluded() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/twilio-usage/categories.txt");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} is needed by this test: {e}", path.display()));
        let categories: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(categories.len() > 600, "{} categories", categories.len());
        let unmapped: Vec<&str> = categories
            .iter()
            .copied()
            .filter(|c| matches!(classify(c), Category::Unknown(_)))
            .collect();
        assert!(unmapped.is_empty(), "unmapped categories: {unmapped:?}");
        // Spot checks of the documented families.
        for (c, s) in [
            ("task-router-workers", "TaskRouter"),
            ("pv-room-participants-us1", "Video"),
            ("pvideo-room-hours-au1", "Video"),
            ("group-rooms-participant-minutes", "Video"),
            ("carrier-lookups", "Lookup"),
            ("sim-swap-lookups", "Lookup"),
            ("pchat-users", "Chat"),
            ("twiml", "Voice"),
            ("tts-google", "Voice"),
            ("pstnconnectivity-minutesinboundlocal", "Voice"),
            (
                "elastic-sip-trunking-call-transfers",
                "Elastic SIP Trunking",
            ),
            ("smsmessages-outbound-domestic", "Messaging"),
            ("rcs-messages", "Messaging"),
            ("usage-rcs-messages-inbound", "Messaging"),
            ("channels-whatsapp-template-marketing", "Messaging"),
        ] {
            assert_eq!(classify(c), Category::Service(s), "{c}");
        }
        for c in [
            "totalprice",
            "credit-transfer",
            "min-spend-adjustments",
            "authy-bucket-adjustment",
            "smsmessages-bucket-adjustments",
            "lookup-bucket-adjustment",
        ] {
            assert!(categories.contains(&c), "{c} is documented");
            assert_eq!(classify(c), Category::NotActivity, "{c}");
        }
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
