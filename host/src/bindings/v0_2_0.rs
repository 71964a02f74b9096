//! Host bindings of the frozen `governance:connector@0.2.0` (`wit/since_v0.2.0/`): the same
//! types as 0.3.0 (which only added the `wasi:keyvalue` import), so its values are 0.3.0's
//! and go up to the latest through `v0_3_0`'s conversions.

wasmtime::component::bindgen!({
    path: "../wit/since_v0.2.0",
    world: "connector-plugin",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
        "governance:connector/types": super::v0_3_0::types,
    },
    require_store_data_send: true,
});
