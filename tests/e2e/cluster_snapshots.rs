//! Streamed snapshots on a real nats-server: pages stored as a sync goes, a pointer switched
//! when the last is in, never to a snapshot whose sync started before the one it names, the
//! pages it named before removed; a reader sees the previous snapshot or the new one, whole.

use connector_cluster::results::{self, Manifest, Switched};
use connector_cluster::setup::{self, Patience};

fn manifest(job: &str, pages: Vec<String>, started_ms: i64) -> Manifest {
    Manifest {
        job: job.into(),
        pages,
        started_ms,
        completed_at: "2026-12-01T00:00:00Z".into(),
    }
}

#[tokio::test]
async fn a_snapshot_is_switched_whole_and_never_to_an_older_sync() {
    let dir = connector_e2e::scratch_dir("cluster-snapshots");
    std::fs::create_dir_all(&dir).unwrap();
    let nats = crate::cluster::Nats::start(connector_e2e::free_port(), &dir);
    let url = nats.url();
    let c = setup::connect(&url, Patience::Command).await.unwrap();
    let read = || async {
        results::read_all(&c.snapshots, &c.results, Some("acme"))
            .await
            .unwrap()
    };
    let store = |job: &'static str, n: usize, line: &'static str| {
        let results = c.results.clone();
        async move {
            results::store_page(&results, "acme", "twilio", job, "run1", n, line.as_bytes())
                .await
                .unwrap()
        }
    };
    // Sync B (started at 200) stores its two pages and switches.
    let b_pages = vec![
        store("sync.B", 0, "b0\n").await,
        store("sync.B", 1, "b1\n").await,
    ];
    assert!(read().await.is_empty(), "no snapshot before the switch");
    let b = manifest("sync.B", b_pages, 200);
    assert_eq!(
        results::switch(&c.snapshots, &c.results, "acme", "twilio", &b)
            .await
            .unwrap(),
        Switched::Now
    );
    assert_eq!(read().await[0].1, b"b0\nb1\n");
    // Sync C (started at 300) is half stored: readers still see B, whole.
    let mut c_pages = vec![store("sync.C", 0, "c0\n").await];
    assert_eq!(read().await[0].1, b"b0\nb1\n");
    // Sync A started before B (at 100) and completes after it: it does not replace B.
    let a = manifest("sync.A", vec![store("sync.A", 0, "a0\n").await], 100);
    assert_eq!(
        results::switch(&c.snapshots, &c.results, "acme", "twilio", &a)
            .await
            .unwrap(),
        Switched::Stale
    );
    assert_eq!(read().await[0].1, b"b0\nb1\n");
    // A page of B stored again by another run (sent before that run lost the job, delivered
    // late) lands beside B's, not over it.
    results::store_page(
        &c.results, "acme", "twilio", "sync.B", "run0", 1, b"stale\n",
    )
    .await
    .unwrap();
    assert_eq!(read().await[0].1, b"b0\nb1\n");
    // C completes: it replaces B, whose pages are removed; switching again changes nothing.
    c_pages.push(store("sync.C", 1, "c1\n").await);
    let cm = manifest("sync.C", c_pages, 300);
    for _ in 0..2 {
        assert_eq!(
            results::switch(&c.snapshots, &c.results, "acme", "twilio", &cm)
                .await
                .unwrap(),
            Switched::Now
        );
    }
    assert_eq!(read().await[0].1, b"c0\nc1\n");
    let mut left = Vec::new();
    let mut list = c.results.list().await.unwrap();
    use futures::StreamExt as _;
    while let Some(Ok(o)) = list.next().await {
        if !o.deleted {
            left.push(o.name);
        }
    }
    left.sort();
    // C's pages and the late store nobody points at.
    assert_eq!(left.len(), 3, "B's pages are gone: {left:?}");
    // Another tenant's snapshots are apart.
    assert!(
        results::read_all(&c.snapshots, &c.results, Some("globex"))
            .await
            .unwrap()
            .is_empty()
    );
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}
