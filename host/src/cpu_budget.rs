//! The CPU a call spends, measured where it is spent: every poll of the call's future runs the
//! guest and the host functions it calls synchronously (random draws, header copies), while
//! waiting on the network happens between polls. So the thread CPU time of each poll is the
//! call's CPU, host calls included, I/O excluded; a call over its budget is ended.

use crate::limits::LimitExceeded;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// CPU time the current thread has used.
#[cfg(unix)]
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(not(unix))]
fn thread_cpu() -> Duration {
    Duration::ZERO
}

/// Runs `inner`, ending it with a CPU limit error once its polls have used `budget`.
pub struct CpuBudget<F> {
    inner: Pin<Box<F>>,
    budget: Duration,
    used: Duration,
}

impl<F> CpuBudget<F> {
    /// Limit `inner` to `budget` of CPU.
    pub fn new(inner: F, budget: Duration) -> Self {
        Self {
            inner: Box::pin(inner),
            budget,
            used: Duration::ZERO,
        }
    }
}

impl<F, T> Future for CpuBudget<F>
where
    F: Future<Output = wasmtime::Result<T>>,
{
    type Output = wasmtime::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let start = thread_cpu();
        let out = self.inner.as_mut().poll(cx);
        let spent = thread_cpu().saturating_sub(start);
        self.used += spent;
        if out.is_pending() && self.used > self.budget {
            return Poll::Ready(Err(wasmtime::Error::new(LimitExceeded::Cpu {
                budget_ms: self.budget.as_millis() as u64,
            })));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cpu_spent_inside_polls_is_charged_and_waiting_is_not() {
        // Burns CPU in each poll, like a guest whose host calls compute.
        let burn = async {
            for _ in 0..200 {
                let until = thread_cpu() + Duration::from_millis(5);
                while thread_cpu() < until {}
                tokio::task::yield_now().await;
            }
            Ok::<_, wasmtime::Error>(())
        };
        let err = CpuBudget::new(burn, Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(err.downcast_ref::<LimitExceeded>().is_some(), "{err:#}");
        // Waiting (sleeping between polls) costs nothing.
        let wait = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, wasmtime::Error>(7)
        };
        assert_eq!(
            CpuBudget::new(wait, Duration::from_millis(50))
                .await
                .unwrap(),
            7
        );
    }
}
