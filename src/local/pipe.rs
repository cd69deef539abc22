//! Writing on the second core. An upload reads and encrypts on one thread; the kernel's copy of
//! the ciphertext into the page cache costs as much again, so it happens on another thread,
//! which takes filled 1 MiB buffers over a bounded channel and hands them back empty. Memory
//! stays at a few buffers whatever the object's size.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

const BUFFER: usize = 1 << 20;
const IN_FLIGHT: usize = 4;

/// The producing side: a `Write` whose bytes the writer thread puts into the real sink.
pub struct PipeWriter {
    current: Vec<u8>,
    full: SyncSender<Vec<u8>>,
    empty: Receiver<Vec<u8>>,
}

impl Write for PipeWriter {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            let room = BUFFER - self.current.len();
            let take = room.min(data.len());
            self.current.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.current.len() == BUFFER {
                self.send()?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.current.is_empty() {
            self.send()?;
        }
        Ok(())
    }
}

impl PipeWriter {
    fn send(&mut self) -> io::Result<()> {
        // The next buffer: a returned one, or a new one while fewer than IN_FLIGHT exist.
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BUFFER));
        let full = std::mem::replace(&mut self.current, next);
        self.full
            .send(full)
            .map_err(|_| io::Error::other("the writer thread stopped"))
    }
}

/// Runs `produce` with a writer whose bytes reach `sink` on another thread; returns what
/// `produce` returned once every byte is written, or the first error of either side.
pub fn write_behind<W, T, E>(
    sink: W,
    io_error: impl Fn(io::Error) -> E,
    produce: impl FnOnce(&mut PipeWriter) -> Result<T, E>,
) -> Result<T, E>
where
    W: Write + Send,
{
    let (full_tx, full_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<()> {
            let mut sink = sink;
            for mut buf in full_rx {
                sink.write_all(&buf)?;
                buf.clear();
                let _ = empty_tx.try_send(buf);
            }
            sink.flush()
        });
        let mut pipe = PipeWriter {
            current: Vec::with_capacity(BUFFER),
            full: full_tx,
            empty: empty_rx,
        };
        let produced = produce(&mut pipe).and_then(|t| pipe.flush().map(|_| t).map_err(&io_error));
        drop(pipe);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
        // A write error explains a producer error ("the writer thread stopped"), so it wins.
        written.map_err(&io_error)?;
        produced
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_arrives_in_order() {
        let mut out = Vec::new();
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
        write_behind(
            &mut out,
            |e| e,
            |w| {
                for piece in data.chunks(65_552) {
                    w.write_all(piece)?;
                }
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn a_failing_sink_fails_the_producer() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = write_behind(
            Full,
            |e| e,
            |w| {
                for _ in 0..100 {
                    w.write_all(&[0u8; 1 << 20])?;
                }
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
    }
}
