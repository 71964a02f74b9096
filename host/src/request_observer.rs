//! A caller's view of the upstream traffic, for metrics: told when each request the host sends
//! upstream starts and how it ended (its status, or no answer). Requests the policy or a limit
//! stopped are never sent, so never observed. Called on the send path of every request: an
//! observer must be cheap (atomics) and never block.

use std::sync::Arc;

/// Told of each request sent upstream (`HostOptions::request_observer`).
pub trait RequestObserver: Send + Sync {
    /// A request is about to be sent (its account's slot taken).
    fn started(&self);
    /// The request `started` announced has ended: with the answer's status, or `None` when no
    /// answer came (a timeout, a broken connection, an answer over the size limit, or the call
    /// dropped while it waited). Called exactly once per `started`.
    fn finished(&self, status: Option<u16>);
}

/// One observed request: `finished` is called when it is told its status, or with `None` when
/// it is dropped before (the call cancelled mid-request), so an in-flight count cannot leak.
pub(crate) struct Observed {
    observer: Option<Arc<dyn RequestObserver>>,
}

impl Observed {
    pub(crate) fn start(observer: Option<&Arc<dyn RequestObserver>>) -> Self {
        if let Some(o) = observer {
            o.started();
        }
        Self {
            observer: observer.cloned(),
        }
    }

    pub(crate) fn finish(mut self, status: Option<u16>) {
        if let Some(o) = self.observer.take() {
            o.finished(status);
        }
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        if let Some(o) = self.observer.take() {
            o.finished(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl RequestObserver for Log {
        fn started(&self) {
            self.0.lock().unwrap().push("started".into());
        }
        fn finished(&self, status: Option<u16>) {
            self.0.lock().unwrap().push(format!("finished {status:?}"));
        }
    }

    #[test]
    fn each_start_is_finished_once_even_when_dropped() {
        let log = Arc::new(Log::default());
        let observer: Arc<dyn RequestObserver> = log.clone();
        Observed::start(Some(&observer)).finish(Some(200));
        drop(Observed::start(Some(&observer)));
        Observed::start(None).finish(Some(500));
        assert_eq!(
            *log.0.lock().unwrap(),
            ["started", "finished Some(200)", "started", "finished None"]
        );
    }
}
