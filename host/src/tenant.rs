//! A tenant: a name, its non-secret configuration and its credentials.

use crate::credentials::{BoundCredential, Credential, Credentials};
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
    /// Held by the host only: the main credential (and the connecting account).
    pub credentials: Arc<Credentials>,
    /// Credentials for other hosts (e.g. an OAuth client for an organization API); a
    /// request to one of their hosts carries them instead of the main credential.
    pub bound: Vec<BoundCredential>,
}

impl Tenant {
    /// A tenant for `app` with `credentials`.
    pub fn new(name: impl Into<String>, app: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            name: name.into(),
            app: app.into(),
            options: Vec::new(),
            credentials: Arc::new(credentials),
            bound: Vec::new(),
        }
    }

    /// Add a credential for `hosts`.
    pub fn with_credential(mut self, hosts: &[&str], credential: Arc<dyn Credential>) -> Self {
        self.bound.push(BoundCredential::new(hosts, credential));
        self
    }

    /// The credential requests to `host` carry.
    pub fn credential_for(&self, host: &str) -> Arc<dyn Credential> {
        match self.bound.iter().find(|b| b.serves(host)) {
            Some(b) => b.credential.clone(),
            None => self.credentials.clone(),
        }
    }

    /// Every form of every secret of the tenant (minted tokens included, as they are now).
    pub fn secret_forms(&self) -> Vec<String> {
        let mut forms = Credential::secret_forms(&*self.credentials);
        for b in &self.bound {
            forms.extend(b.credential.secret_forms());
        }
        forms
    }

    /// Add a non-secret option.
    pub fn with_option(mut self, key: &str, value: &str) -> Self {
        self.options.push((key.to_string(), value.to_string()));
        self
    }
}
