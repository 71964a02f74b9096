//! A tenant: a name, its non-secret configuration and its credentials.

use crate::credentials::Credentials;
use std::sync::Arc;

/// Everything one call needs to know about whose data it touches.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Label used in audit lines and output.
    pub name: String,
    /// The app of the connector to use (`twilio`, `flex`, `frontline`).
    pub app: String,
    /// Non-secret, app-specific options passed to the plugin.
    pub options: Vec<(String, String)>,
    /// Held by the host only.
    pub credentials: Arc<Credentials>,
}

impl Tenant {
    /// A tenant for `app` with `credentials`.
    pub fn new(name: impl Into<String>, app: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            name: name.into(),
            app: app.into(),
            options: Vec::new(),
            credentials: Arc::new(credentials),
        }
    }

    /// Add a non-secret option.
    pub fn with_option(mut self, key: &str, value: &str) -> Self {
        self.options.push((key.to_string(), value.to_string()));
        self
    }
}
