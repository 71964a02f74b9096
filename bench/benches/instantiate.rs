//! Criterion micro-benchmarks of the host's per-call costs: deserializing the precompiled
//! component (cached start), instantiating from `InstancePre` (warm), and one whole call.
//! Run with `cargo bench -p connector-bench --bench instantiate` after `make component`.

use connector_host::{Host, HostOptions};
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;

fn plugin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip2/component/twilio_connector.wasm")
}

fn instantiate(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-cache");
    let host = rt
        .block_on(Host::load(
            &plugin(),
            HostOptions {
                cache_dir: Some(cache),
                vendor_policy: std::sync::Arc::new(
                    twilio_policy::policy().expect("the Twilio vendor policy builds"),
                ),
                ..HostOptions::default()
            },
        ))
        .expect("plugin loads");
    let engine = connector_host::engine::new_engine(host.limits()).expect("engine");
    let bytes = std::fs::read(plugin()).expect("component");
    let compiled = engine.precompile_component(&bytes).expect("precompile");

    c.bench_function("cached start (deserialize precompiled)", |b| {
        // SAFETY: bytes produced by `precompile_component` of this same engine.
        b.iter(|| {
            unsafe { wasmtime::component::Component::deserialize(&engine, &compiled) }
                .expect("deserializes")
        })
    });
    c.bench_function("warm instantiate (InstancePre, new Store)", |b| {
        b.iter(|| rt.block_on(host.instantiate_only()).expect("instantiates"))
    });
    c.bench_function("one call (instantiate + metadata)", |b| {
        b.iter(|| rt.block_on(host.call_metadata()).expect("calls"))
    });
}

criterion_group!(benches, instantiate);
criterion_main!(benches);
