//! A minimal connector built against the frozen `governance:connector@0.1.0`: it lists the
//! accounts of one page and, for `suspend`, writes Status=suspended to the account it is
//! given. The host must load it, serve its reads and, since it declares no routes, refuse
//! its writes.

#[cfg(target_arch = "wasm32")]
mod legacy;
