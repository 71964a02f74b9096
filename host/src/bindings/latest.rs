//! Host bindings of the latest `governance:connector` (`wit/connector.wit`, 0.3.0), with the
//! wasi imports provided by wasmtime-wasi and wasmtime-wasi-http, and `wasi:keyvalue/store`
//! by the host's own state buckets (`state/keyvalue.rs`).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "connector-plugin",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
        "wasi:keyvalue/store.bucket": crate::state::KvHandle,
    },
    imports: { "wasi:keyvalue/store": trappable },
    require_store_data_send: true,
    additional_derives: [PartialEq],
});

/// The contract's data types (accounts, errors, results).
pub use governance::connector::types;
