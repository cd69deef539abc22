//! Waiting for work that ends on its own (job runs, crawls, queries, classification jobs): one
//! loop, at the backend's pace (`BackendInfo::poll_interval`: 50 ms on the local lake, 2 s on
//! AWS, whose APIs are rate-limited), instead of one per command.

use std::future::Future;
use std::time::Duration;

use super::Result;

/// Asks `probe` every `poll` until it answers `Some` (the work ended) or fails.
pub async fn until_finished<T, F, Fut>(poll: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    loop {
        if let Some(ended) = probe().await? {
            return Ok(ended);
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{Code, ServiceError};

    #[tokio::test]
    async fn asks_until_an_answer_and_stops_at_an_error() {
        let mut asked = 0;
        let answer = until_finished(Duration::from_millis(1), || {
            asked += 1;
            let n = asked;
            async move { Ok((n == 3).then_some(n)) }
        })
        .await
        .unwrap();
        assert_eq!((answer, asked), (3, 3));
        let e = until_finished::<(), _, _>(Duration::from_millis(1), || async {
            Err(ServiceError::new(Code::AccessDenied, "no"))
        })
        .await
        .unwrap_err();
        assert_eq!(e.code, Code::AccessDenied);
    }
}
