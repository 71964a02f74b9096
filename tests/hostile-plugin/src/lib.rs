//! A hostile implementation of the connector world. `list-accounts` misbehaves in the way the
//! config option `mode` names, and reports what it managed to do in the account's
//! `display-name`, so tests can see exactly what the sandbox let through.

#[cfg(target_arch = "wasm32")]
mod hostile;
