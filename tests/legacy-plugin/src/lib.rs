//! A minimal connector built against a frozen contract (`governance:connector@0.1.0`,
//! `0.2.0` with the `contract-0-2-0` feature, or `0.3.0` with `contract-0-3-0`): it lists the
//! accounts of one page and, for `suspend`, writes Status=suspended to the account it is
//! given. The host must load it and serve its reads; a 0.1.0 build declares no routes, so its
//! writes are refused, while 0.2.0 and 0.3.0 builds declare theirs.

#[cfg(target_arch = "wasm32")]
mod legacy;
