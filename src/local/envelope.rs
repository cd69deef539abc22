//! The sealed object format. Each object body is encrypted under its own random data key, which is
//! itself sealed under a KMS key version with the object's encryption context (bucket and key)
//! as additional data: an object file copied or renamed elsewhere does not open.
//!
//! ```text
//! header  magic "LKOBJv01" | u16 len | key id | u32 key version | u16 len | sealed data key | u32 chunk size
//! chunk*  AES-256-GCM(chunk of plaintext), 16-byte tag; nonce = 0u32 || index u64
//!         AAD = SHA-256(header) || index u64 || final flag
//! ```
//!
//! Fixed-size chunks make a range read decrypt only the chunks it touches. The chunk index in
//! the nonce and AAD detects reordering; the final flag detects truncation at a chunk boundary
//! (the STREAM construction). Every failure is an `InvalidCiphertextException`, never garbage.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use aws_lc_rs::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use aws_lc_rs::digest;

use super::crypto::{Secret, TAG_LEN};
use crate::service::{Code, Progress, Result, ServiceError};

pub const CHUNK_SIZE: usize = 64 * 1024;
const MAGIC: &[u8; 8] = b"LKOBJv01";

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub key_id: String,
    pub key_version: u32,
    pub sealed_data_key: Vec<u8>,
    pub chunk_size: u32,
}

fn invalid(why: &str) -> ServiceError {
    ServiceError::new(
        Code::InvalidCiphertextException,
        format!("the stored object failed authentication: {why}"),
    )
}

impl Header {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.key_id.len() + self.sealed_data_key.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.key_id.len() as u16).to_be_bytes());
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&self.key_version.to_be_bytes());
        out.extend_from_slice(&(self.sealed_data_key.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.sealed_data_key);
        out.extend_from_slice(&self.chunk_size.to_be_bytes());
        out
    }

    /// Parses a header from the start of `bytes`; returns it and its encoded length.
    pub fn decode(bytes: &[u8]) -> Result<(Header, usize)> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8]> {
            let s = bytes
                .get(at..at + n)
                .ok_or_else(|| invalid("the header is truncated"))?;
            at += n;
            Ok(s)
        };
        if take(8)? != MAGIC {
            return Err(invalid("not a sealed object"));
        }
        let id_len = u16::from_be_bytes(take(2)?.try_into().unwrap()) as usize;
        let key_id =
            String::from_utf8(take(id_len)?.to_vec()).map_err(|_| invalid("bad key id"))?;
        let key_version = u32::from_be_bytes(take(4)?.try_into().unwrap());
        let dk_len = u16::from_be_bytes(take(2)?.try_into().unwrap()) as usize;
        let sealed_data_key = take(dk_len)?.to_vec();
        let chunk_size = u32::from_be_bytes(take(4)?.try_into().unwrap());
        if chunk_size == 0 || chunk_size > 16 << 20 {
            return Err(invalid("bad chunk size"));
        }
        Ok((
            Header {
                key_id,
                key_version,
                sealed_data_key,
                chunk_size,
            },
            at,
        ))
    }
}

fn nonce(index: u64) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[4..].copy_from_slice(&index.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn chunk_aad(header_digest: &[u8; 32], index: u64, last: bool) -> [u8; 41] {
    let mut aad = [0u8; 41];
    aad[..32].copy_from_slice(header_digest);
    aad[32..40].copy_from_slice(&index.to_be_bytes());
    aad[40] = last as u8;
    aad
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    digest::digest(&digest::SHA256, bytes)
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn fill(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub struct Sealed {
    pub plaintext_len: u64,
    /// The last chunk's tag: unique per object version, and reveals nothing of the content.
    pub etag: String,
}

/// A `Write` that seals what it is given, chunk by chunk, into `out`. A full chunk is sealed only
/// once more bytes arrive, so `finish` can mark the true last chunk as final.
pub struct SealingWriter<W: Write> {
    out: W,
    key: LessSafeKey,
    digest: [u8; 32],
    chunk_size: usize,
    buf: Vec<u8>,
    index: u64,
    total: u64,
}

impl<W: Write> SealingWriter<W> {
    pub fn new(data_key: &Secret, header: &Header, mut out: W) -> std::io::Result<Self> {
        let encoded = header.encode();
        out.write_all(&encoded)?;
        let chunk_size = header.chunk_size as usize;
        Ok(SealingWriter {
            out,
            key: data_key.aead(),
            digest: sha256(&encoded),
            chunk_size,
            buf: Vec::with_capacity(chunk_size + TAG_LEN),
            index: 0,
            total: 0,
        })
    }

    fn seal(&mut self, last: bool) -> std::io::Result<String> {
        let len = self.buf.len();
        let tag = self
            .key
            .seal_in_place_separate_tag(
                nonce(self.index),
                Aad::from(chunk_aad(&self.digest, self.index, last)),
                &mut self.buf,
            )
            .map_err(|_| std::io::Error::other("AES-GCM seal failed"))?;
        self.buf.extend_from_slice(tag.as_ref());
        self.out.write_all(&self.buf)?;
        self.total += len as u64;
        self.index += 1;
        self.buf.clear();
        Ok(hex::encode(tag.as_ref()))
    }

    /// Seals the final chunk (possibly empty) and returns the sink with what was sealed.
    pub fn finish(mut self) -> std::io::Result<(W, Sealed)> {
        let etag = self.seal(true)?;
        self.out.flush()?;
        Ok((
            self.out,
            Sealed {
                plaintext_len: self.total,
                etag,
            },
        ))
    }
}

impl<W: Write> Write for SealingWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut data = data;
        let n = data.len();
        while !data.is_empty() {
            if self.buf.len() == self.chunk_size {
                self.seal(false)?;
            }
            let take = (self.chunk_size - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Chunks are sealed when they are full; the tail waits for `finish`.
        self.out.flush()
    }
}

/// Encrypts `input` into `out` under `data_key`, in constant memory, reporting progress and
/// stopping when it is cancelled.
pub fn seal_stream(
    data_key: &Secret,
    header: &Header,
    input: &mut dyn Read,
    out: &mut dyn Write,
    progress: &Progress,
) -> Result<Sealed> {
    let write_err = |e: std::io::Error| ServiceError::local_io("cannot write the object store", &e);
    let mut writer = SealingWriter::new(data_key, header, out).map_err(write_err)?;
    let mut buf = vec![0u8; header.chunk_size as usize];
    loop {
        if progress.is_cancelled() {
            return Err(ServiceError::new(
                Code::Cancelled,
                "the upload was cancelled",
            ));
        }
        let n = fill(input, &mut buf)
            .map_err(|e| ServiceError::local_io("cannot read the upload", &e))?;
        writer.write_all(&buf[..n]).map_err(write_err)?;
        progress.advance(n as u64);
        if n < buf.len() {
            break;
        }
    }
    let (_, sealed) = writer.finish().map_err(write_err)?;
    Ok(sealed)
}

/// An object file opened for reading: its header parsed, its geometry known.
pub struct SealedFile {
    file: File,
    pub header: Header,
    digest: [u8; 32],
    body_start: u64,
    chunks: u64,
    pub plaintext_len: u64,
}

impl SealedFile {
    pub fn open(file: File) -> Result<Self> {
        let file_len = file
            .metadata()
            .map_err(|e| ServiceError::local_io("cannot stat an object", &e))?
            .len();
        let mut head = vec![0u8; (file_len as usize).min(4096)];
        file.read_exact_at(&mut head, 0)
            .map_err(|_| invalid("the header is unreadable"))?;
        let (header, hlen) = Header::decode(&head)?;
        let digest = sha256(&head[..hlen]);
        let body = file_len - hlen as u64;
        let sealed_chunk = header.chunk_size as u64 + TAG_LEN as u64;
        let chunks = body.div_ceil(sealed_chunk);
        // Every object has at least one (possibly empty) final chunk, and no chunk is tag-only but the last.
        if chunks == 0 || body - (chunks - 1) * sealed_chunk < TAG_LEN as u64 {
            return Err(invalid("the object is truncated"));
        }
        let plaintext_len = body - chunks * TAG_LEN as u64;
        Ok(SealedFile {
            file,
            header,
            digest,
            body_start: hlen as u64,
            chunks,
            plaintext_len,
        })
    }

    /// The final chunk's tag, which `Sealed::etag` recorded at upload: comparing the two tells
    /// whether this body is the version the metadata store names.
    pub fn final_tag(&self) -> Result<String> {
        let len = self
            .file
            .metadata()
            .map_err(|e| ServiceError::local_io("cannot stat an object", &e))?
            .len();
        let mut tag = [0u8; TAG_LEN];
        self.file
            .read_exact_at(&mut tag, len - TAG_LEN as u64)
            .map_err(|_| invalid("the object is truncated"))?;
        Ok(hex::encode(tag))
    }

    /// Decrypts the plaintext bytes `[start, end)` into `out`, touching only the chunks needed.
    pub fn copy_range(
        &self,
        data_key: &Secret,
        start: u64,
        end: u64,
        out: &mut dyn Write,
        progress: &Progress,
    ) -> Result<u64> {
        let end = end.min(self.plaintext_len);
        if start >= end && !(start == 0 && end == 0) {
            return Ok(0);
        }
        let key = data_key.aead();
        let cs = self.header.chunk_size as u64;
        let first = start / cs;
        let last_needed = if end == 0 { 0 } else { (end - 1) / cs };
        let mut buf = vec![0u8; cs as usize + TAG_LEN];
        let mut written = 0u64;
        for index in first..=last_needed.min(self.chunks - 1) {
            if progress.is_cancelled() {
                return Err(ServiceError::new(
                    Code::Cancelled,
                    "the download was cancelled",
                ));
            }
            let is_last = index == self.chunks - 1;
            let plain_len = if is_last {
                self.plaintext_len - index * cs
            } else {
                cs
            };
            let sealed = &mut buf[..plain_len as usize + TAG_LEN];
            let at = self.body_start + index * (cs + TAG_LEN as u64);
            self.file
                .read_exact_at(sealed, at)
                .map_err(|_| invalid("the object is truncated"))?;
            let plain = key
                .open_in_place(
                    nonce(index),
                    Aad::from(chunk_aad(&self.digest, index, is_last)),
                    sealed,
                )
                .map_err(|_| invalid(&format!("chunk {index} was altered, reordered or cut")))?;
            let chunk_start = index * cs;
            let from = start.saturating_sub(chunk_start) as usize;
            let to = ((end - chunk_start) as usize).min(plain.len());
            out.write_all(&plain[from..to])
                .map_err(|e| ServiceError::local_io("cannot write the download", &e))?;
            written += (to - from) as u64;
            progress.advance((to - from) as u64);
        }
        out.flush()
            .map_err(|e| ServiceError::local_io("cannot write the download", &e))?;
        Ok(written)
    }
}

/// An opened object: its sealed file and its data key, shareable between readers (Parquet reads
/// a file's footer and column chunks through several).
#[derive(Clone)]
pub struct SealedObject {
    file: Arc<SealedFile>,
    key: Arc<Secret>,
}

impl SealedObject {
    pub fn new(file: SealedFile, key: Secret) -> Self {
        SealedObject {
            file: Arc::new(file),
            key: Arc::new(key),
        }
    }

    pub fn len(&self) -> u64 {
        self.file.plaintext_len
    }

    /// The plaintext from `offset` to the end, decrypted one chunk at a time as it is read.
    pub fn reader_at(&self, offset: u64) -> OpeningReader {
        let cs = self.file.header.chunk_size as u64;
        OpeningReader {
            object: self.clone(),
            aead: self.key.aead(),
            next: offset / cs,
            skip: (offset % cs) as usize,
            plain: Vec::new(),
            at: 0,
        }
    }

    /// The plaintext bytes `[start, start + len)`.
    pub fn read_range(&self, start: u64, len: u64) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(len as usize);
        self.file.copy_range(
            &self.key,
            start,
            start + len,
            &mut out,
            &Progress::default(),
        )?;
        Ok(out)
    }
}

/// Reads a sealed object's plaintext from an offset to the end.
pub struct OpeningReader {
    object: SealedObject,
    aead: LessSafeKey,
    next: u64,
    /// Bytes of the first chunk before the offset.
    skip: usize,
    plain: Vec<u8>,
    at: usize,
}

impl Read for OpeningReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.plain.len() {
            let f = &self.object.file;
            if self.next >= f.chunks || (f.plaintext_len == 0 && self.next > 0) {
                return Ok(0);
            }
            let cs = f.header.chunk_size as u64;
            let index = self.next;
            let is_last = index == f.chunks - 1;
            let plain_len = if is_last {
                f.plaintext_len - index * cs
            } else {
                cs
            };
            self.plain.resize(plain_len as usize + TAG_LEN, 0);
            let at = f.body_start + index * (cs + TAG_LEN as u64);
            f.file
                .read_exact_at(&mut self.plain, at)
                .map_err(|_| std::io::Error::other(invalid("the object is truncated")))?;
            let n = self
                .aead
                .open_in_place(
                    nonce(index),
                    Aad::from(chunk_aad(&f.digest, index, is_last)),
                    &mut self.plain,
                )
                .map_err(|_| {
                    std::io::Error::other(invalid(&format!(
                        "chunk {index} was altered, reordered or cut"
                    )))
                })?
                .len();
            self.plain.truncate(n);
            self.at = std::mem::take(&mut self.skip).min(n);
            self.next += 1;
            if self.at == self.plain.len() {
                return self.read(out);
            }
        }
        let n = out.len().min(self.plain.len() - self.at);
        out[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_bytes(dk: &Secret, data: &[u8], cs: u32) -> Vec<u8> {
        let header = Header {
            key_id: "k".into(),
            key_version: 1,
            sealed_data_key: vec![7; 60],
            chunk_size: cs,
        };
        let mut out = Vec::new();
        seal_stream(dk, &header, &mut &data[..], &mut out, &Progress::default()).unwrap();
        out
    }

    fn open_bytes(dk: &Secret, sealed: &[u8], range: Option<(u64, u64)>) -> Result<Vec<u8>> {
        let path = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(path.path(), sealed).unwrap();
        let f = SealedFile::open(File::open(path.path()).unwrap())?;
        let (s, e) = range.unwrap_or((0, f.plaintext_len));
        let mut out = Vec::new();
        f.copy_range(dk, s, e, &mut out, &Progress::default())?;
        Ok(out)
    }

    #[test]
    fn round_trips_every_size_and_range() {
        let dk = Secret::random();
        for len in [0usize, 1, 15, 16, 17, 32, 33, 100] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let sealed = seal_bytes(&dk, &data, 16);
            assert_eq!(open_bytes(&dk, &sealed, None).unwrap(), data, "len {len}");
            for s in 0..len as u64 {
                for e in s..=len as u64 {
                    assert_eq!(
                        open_bytes(&dk, &sealed, Some((s, e))).unwrap(),
                        &data[s as usize..e as usize]
                    );
                }
            }
        }
    }

    #[test]
    fn the_writer_and_the_reader_agree_with_the_stream_functions() {
        let dk = Secret::random();
        let header = Header {
            key_id: "k".into(),
            key_version: 1,
            sealed_data_key: vec![7; 60],
            chunk_size: 16,
        };
        for len in [0usize, 5, 16, 40, 48] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut w = SealingWriter::new(&dk, &header, Vec::new()).unwrap();
            for piece in data.chunks(7) {
                w.write_all(piece).unwrap();
            }
            let (sealed, _) = w.finish().unwrap();
            assert_eq!(sealed, seal_bytes(&dk, &data, 16), "len {len}");
            let path = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(path.path(), &sealed).unwrap();
            let dk2 = Secret(dk.0);
            let object = SealedObject::new(
                SealedFile::open(File::open(path.path()).unwrap()).unwrap(),
                dk2,
            );
            for offset in 0..=len as u64 {
                let mut plain = Vec::new();
                object.reader_at(offset).read_to_end(&mut plain).unwrap();
                assert_eq!(plain, &data[offset as usize..], "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn any_flipped_byte_or_cut_is_detected() {
        let dk = Secret::random();
        let data = vec![42u8; 50];
        let sealed = seal_bytes(&dk, &data, 16);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            // The header is bound through its digest, so even its opaque parts are covered.
            assert!(
                open_bytes(&dk, &bad, None).is_err(),
                "byte {i} flipped unnoticed"
            );
        }
        // Cut at a chunk boundary: the new last chunk was not sealed as final.
        let (_, hlen) = Header::decode(&sealed).unwrap();
        let cut = &sealed[..hlen + 2 * (16 + TAG_LEN)];
        assert_eq!(
            open_bytes(&dk, cut, None).unwrap_err().code,
            Code::InvalidCiphertextException
        );
        // Two chunks swapped.
        let mut swapped = sealed.clone();
        let c = 16 + TAG_LEN;
        let (a, b) = (hlen, hlen + c);
        let first: Vec<u8> = swapped[a..a + c].to_vec();
        swapped.copy_within(b..b + c, a);
        swapped[b..b + c].copy_from_slice(&first);
        assert!(open_bytes(&dk, &swapped, None).is_err());
        // The wrong data key.
        assert!(open_bytes(&Secret::random(), &sealed, None).is_err());
    }
}
