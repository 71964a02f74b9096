//! Host bindings of the frozen `governance:connector@0.2.0` (`wit/since_v0.2.0/`): the same
//! types as 0.3.0 (which only added the `wasi:keyvalue` import), so its values are the latest
//! types themselves and need no conversion.

wasmtime::component::bindgen!({
    path: "../wit/since_v0.2.0",
    world: "connector-plugin",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
        "governance:connector/types": super::latest::types,
    },
    require_store_data_send: true,
});
