//! A hostile implementation of the connector world. `list-accounts` and the actions misbehave
//! in the way the config option `mode` names, and report what they managed to do (in the
//! account's `display-name`, or the action's message), so tests can see exactly what the
//! sandbox let through. The default build declares only the routes our own plugin declares;
//! the `greedy` feature also declares routes the vendor policy never grants.

#[cfg(target_arch = "wasm32")]
mod actions;
#[cfg(target_arch = "wasm32")]
mod hostile;
#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod routes;
