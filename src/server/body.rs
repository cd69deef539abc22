//! Object bodies between hyper's async streams and the storage service's blocking `Read` and
//! `Write` (bodies are sealed and opened on blocking threads). A bounded channel in each
//! direction keeps a transfer's memory to a few chunks whatever its size.

use std::io::{self, Read, Write};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::sync::mpsc;

/// Chunks in flight per transfer: with 256 KiB chunks, about 1 MiB a transfer.
const DEPTH: usize = 4;
const CHUNK: usize = 256 * 1024;

/// A request body as the blocking `Read` a put consumes. A client that stops sending or sends
/// garbage (a bad chunk signature) makes the read fail, so the put commits nothing.
pub struct StreamReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

/// Why a request body could not be read, so the client is told what it did (the storage
/// service only sees a failed read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFailure {
    /// A chunk of a streaming signed payload did not verify.
    SignatureMismatch,
    /// The body ended early or was not what its headers said.
    Incomplete,
}

impl BodyFailure {
    pub fn s3_error(self) -> s3s::S3Error {
        match self {
            BodyFailure::SignatureMismatch => s3s::s3_error!(
                SignatureDoesNotMatch,
                "A chunk's signature does not match: nothing was stored"
            ),
            BodyFailure::Incomplete => s3s::s3_error!(
                IncompleteBody,
                "The request body ended early or was malformed: nothing was stored"
            ),
        }
    }

    /// s3s does not export its chunk-stream error type; its message names the kind.
    fn of(err: &(dyn std::error::Error + Send + Sync)) -> BodyFailure {
        if err.to_string().contains("SignatureMismatch") {
            BodyFailure::SignatureMismatch
        } else {
            BodyFailure::Incomplete
        }
    }
}

/// Where the pump leaves the body's failure for the operation to report.
pub type FailureSlot = std::sync::Arc<std::sync::Mutex<Option<BodyFailure>>>;

impl StreamReader {
    pub fn new(blob: s3s::dto::StreamingBlob) -> (StreamReader, FailureSlot) {
        let (tx, rx) = mpsc::channel(DEPTH);
        let slot = FailureSlot::default();
        let failure = slot.clone();
        tokio::spawn(async move {
            let mut blob = blob;
            while let Some(item) = blob.next().await {
                let item = item.map_err(|e| {
                    let kind = BodyFailure::of(e.as_ref());
                    if let Ok(mut slot) = failure.lock() {
                        *slot = Some(kind);
                    }
                    io::Error::other(e.to_string())
                });
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        (
            StreamReader {
                rx,
                current: Bytes::new(),
            },
            slot,
        )
    }
}

/// The error to answer for a put whose service call failed: the body's own failure if it had
/// one (the service saw only a failed read), else the service's.
pub fn put_error(slot: &FailureSlot, err: crate::service::ServiceError) -> s3s::S3Error {
    match slot.lock().ok().and_then(|s| *s) {
        Some(failure) => failure.s3_error(),
        None => super::s3::s3_err(err),
    }
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// The `Write` a get streams into; what is written goes out as the response body.
pub struct ChannelSink {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: BytesMut,
}

/// The receiving end: the response body. It ends with an error if the get failed midway, so
/// hyper cuts the connection and the client sees a short body, never a complete-looking one.
pub type BodyStream = mpsc::Receiver<Result<Bytes, std::io::Error>>;

pub fn channel_sink() -> (ChannelSink, BodyStream) {
    let (tx, rx) = mpsc::channel(DEPTH);
    (
        ChannelSink {
            tx,
            buf: BytesMut::with_capacity(CHUNK),
        },
        rx,
    )
}

impl ChannelSink {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Ends the body with an error: the client must not take what it got as the whole object.
    pub fn fail(tx: &mpsc::Sender<Result<Bytes, std::io::Error>>, why: String) {
        let _ = tx.try_send(Err(io::Error::other(why)));
    }

    pub fn sender(&self) -> mpsc::Sender<Result<Bytes, std::io::Error>> {
        self.tx.clone()
    }
}

impl Write for ChannelSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelSink {
    fn drop(&mut self) {
        // Whatever is left goes out only if the get flushed it: a failed get does not flush.
    }
}
