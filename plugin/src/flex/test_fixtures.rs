//! What the Flex flow tests share: the SIDs of their one instance, workspace, worker and Flex
//! user, the two hosts, and the app's configuration with or without the instance.

use crate::model::Config;

pub const GO: &str = "GO00000000000000000000000000000001";
pub const WS: &str = "WS00000000000000000000000000000001";
pub const WK: &str = "WK00000000000000000000000000000001";
pub const FU: &str = "FU00000000000000000000000000000001";
pub const TR: &str = "https://taskrouter.twilio.com";
pub const FLEX: &str = "https://flex-api.twilio.com";

/// The flex app's configuration, with the Flex instance `GO` when `instance`.
pub fn cfg(instance: bool) -> Config {
    Config {
        app: "flex".into(),
        account_id: "AC00000000000000000000000000000000".into(),
        options: if instance {
            vec![(crate::options::FLEX_INSTANCE.into(), GO.into())]
        } else {
            vec![]
        },
    }
}
