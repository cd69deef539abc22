//! The lake directory and its root of trust. A lake is one directory:
//!
//! ```text
//! lake.json   format, account id, KDF parameters and the root key sealed under the passphrase
//! meta.db     the transactional metadata store (SQLite, WAL): keys, buckets, objects, audit ...
//! audit.head  the audit chain's last entry, MACed, so a store that lost commits is caught
//! objects/    object bodies, each sealed under its own data key (see envelope.rs)
//! tmp/        bodies being written; never visible to listings
//! ```
//!
//! The root key never touches disk in plaintext: it is sealed (AES-256-GCM) under a key derived
//! from the lake passphrase with PBKDF2-HMAC-SHA256. Every KMS key version is sealed under a
//! sub-key of the root key, and every object's data key under a KMS key version.

use std::fs;
use std::io::Write;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use aws_lc_rs::pbkdf2;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::crypto::{self, KEY_LEN, Secret};
use crate::service::{Code, Result, ServiceError};

const FORMAT: u32 = 1;
/// OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about 0.1 s per unlock on this class of machine.
const KDF_ITERATIONS: u32 = 600_000;
const ROOT_AAD: &[u8] = b"lakectl root key v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LakeHeader {
    pub format: u32,
    pub account_id: String,
    pub region: String,
    pub created: DateTime<Utc>,
    pub kdf: Kdf,
    pub sealed_root_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Kdf {
    pub algorithm: String,
    pub iterations: u32,
    pub salt: String,
}

/// Paths inside a lake directory.
#[derive(Debug, Clone)]
pub struct LakeDir {
    root: PathBuf,
}

impl LakeDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LakeDir { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn header(&self) -> PathBuf {
        self.root.join("lake.json")
    }
    pub fn meta_db(&self) -> PathBuf {
        self.root.join("meta.db")
    }
    pub fn objects(&self) -> PathBuf {
        self.root.join("objects")
    }
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
    /// The audit chain's head, kept outside the metadata store (audit_head.rs).
    pub fn audit_head(&self) -> PathBuf {
        self.root.join("audit.head")
    }
    pub fn exists(&self) -> bool {
        self.header().is_file()
    }
}

fn passphrase_key(passphrase: &str, kdf: &Kdf) -> Result<Secret> {
    if kdf.algorithm != "PBKDF2-HMAC-SHA256" {
        return Err(ServiceError::new(
            Code::LakeConfiguration,
            format!("unknown KDF {}", kdf.algorithm),
        ));
    }
    let salt = B64.decode(&kdf.salt).map_err(|_| {
        ServiceError::new(
            Code::LakeConfiguration,
            "lake.json: the KDF salt is not base64",
        )
    })?;
    let iterations = NonZeroU32::new(kdf.iterations).ok_or_else(|| {
        ServiceError::new(Code::LakeConfiguration, "lake.json: zero KDF iterations")
    })?;
    let mut out = [0u8; KEY_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        passphrase.as_bytes(),
        &mut out,
    );
    Ok(Secret(out))
}

/// Creates a new lake in `dir` (which must not hold one) and returns its header and root key.
pub fn create(dir: &LakeDir, passphrase: &str) -> Result<(LakeHeader, Secret)> {
    if passphrase.is_empty() {
        return Err(ServiceError::new(
            Code::LakeConfiguration,
            "the lake passphrase must not be empty",
        ));
    }
    let io = |what: &str, e: std::io::Error| ServiceError::local_io(what, &e);
    if dir.exists() {
        return Err(ServiceError::new(
            Code::AlreadyExistsException,
            format!("{} already holds a lake", dir.root().display()),
        ));
    }
    for d in [dir.root().to_path_buf(), dir.objects(), dir.tmp()] {
        create_private_dir_all(&d).map_err(|e| io(&format!("cannot create {}", d.display()), e))?;
        restrict(&d);
    }
    let mut salt = [0u8; 16];
    crypto::fill_random(&mut salt);
    let kdf = Kdf {
        algorithm: "PBKDF2-HMAC-SHA256".into(),
        iterations: KDF_ITERATIONS,
        salt: B64.encode(salt),
    };
    let root = Secret::random();
    let sealed = crypto::seal(&passphrase_key(passphrase, &kdf)?.aead(), &root.0, ROOT_AAD);
    let mut account = [0u8; 8];
    crypto::fill_random(&mut account);
    let account_id = format!("{:012}", u64::from_le_bytes(account) % 1_000_000_000_000);
    let header = LakeHeader {
        format: FORMAT,
        account_id,
        region: "local".into(),
        created: Utc::now(),
        kdf,
        sealed_root_key: B64.encode(sealed),
    };
    // Written aside, then linked into place: link fails if another process created the lake first.
    let tmp = dir
        .root()
        .join(format!("lake.json.{}", uuid::Uuid::new_v4()));
    let mut f = create_private(&tmp).map_err(|e| io("cannot write lake.json", e))?;
    f.write_all(
        serde_json::to_string_pretty(&header)
            .expect("header serializes")
            .as_bytes(),
    )
    .and_then(|_| f.sync_all())
    .map_err(|e| io("cannot write lake.json", e))?;
    let linked = fs::hard_link(&tmp, dir.header());
    let _ = fs::remove_file(&tmp);
    linked.map_err(|e| io("cannot create lake.json", e))?;
    Ok((header, root))
}

/// Reads the header and unseals the root key with the passphrase.
pub fn unlock(dir: &LakeDir, passphrase: &str) -> Result<(LakeHeader, Secret)> {
    let text = fs::read_to_string(dir.header()).map_err(|e| {
        ServiceError::new(
            Code::LakeConfiguration,
            format!(
                "{} is not a lake ({e}); create one with `lakectl init` or `lakectl demo`",
                dir.root().display()
            ),
        )
    })?;
    let header: LakeHeader = serde_json::from_str(&text).map_err(|e| {
        ServiceError::new(
            Code::LakeConfiguration,
            format!("lake.json is damaged: {e}"),
        )
    })?;
    if header.format != FORMAT {
        return Err(ServiceError::new(
            Code::LakeConfiguration,
            format!(
                "lake format {} is not supported by this lakectl (it reads {FORMAT})",
                header.format
            ),
        ));
    }
    let sealed = B64.decode(&header.sealed_root_key).map_err(|_| {
        ServiceError::new(
            Code::LakeConfiguration,
            "lake.json: the sealed root key is not base64",
        )
    })?;
    let root = crypto::open_key(
        &passphrase_key(passphrase, &header.kdf)?.aead(),
        &sealed,
        ROOT_AAD,
    )
    .map_err(|_| {
        ServiceError::new(
            Code::LakeConfiguration,
            format!("wrong passphrase for the lake at {}", dir.root().display()),
        )
    })?;
    Ok((header, root))
}

/// The lake refuses to open when it cannot be written, and says why in one place: every call,
/// reads included, appends to the lake's audit log in the metadata store, so a lake that cannot
/// record a read cannot serve it.
pub fn read_only_error(why: &str) -> ServiceError {
    ServiceError::new(
        Code::LakeConfiguration,
        format!(
            "the lake is read-only ({why}): lakectl records every call, reads included, in the lake's audit log, so it opens only a lake it may write; make the lake directory and its files writable by you, or work on a copy"
        ),
    )
}

/// Fails with `read_only_error` when the lake's directory or metadata store is not writable: no
/// write permission (as mode bits say, which hold even for root) or a read-only file system.
pub fn check_writable(dir: &LakeDir) -> Result<()> {
    for path in [dir.root().to_path_buf(), dir.meta_db()] {
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.permissions().readonly() {
            return Err(read_only_error(&format!(
                "{} is not writable",
                path.display()
            )));
        }
    }
    if let Err(e) = fs::OpenOptions::new().append(true).open(dir.meta_db())
        && matches!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        )
    {
        return Err(read_only_error(&format!("meta.db: {e}")));
    }
    Ok(())
}

/// A new file that only its owner may read or write (0600) from its first byte: everything the
/// lake writes is sealed, but its size and timing are the owner's business too.
pub fn create_private(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// `create_dir_all` whose new directories only their owner may enter (0700).
pub fn create_private_dir_all(path: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Owner-only permissions on everything under a lake made before every file was created so:
/// the walk runs once, when the lake's root is still open to others (it is restricted last,
/// so an interrupted walk runs again at the next open).
pub fn restrict_tree_once(root: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let open_to_others = fs::metadata(root).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
        if !open_to_others {
            return;
        }
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                // Symlinks are never followed: the lake makes none, and one could point anywhere.
                match entry.file_type() {
                    Ok(t) if t.is_dir() => {
                        restrict(&entry.path());
                        pending.push(entry.path());
                    }
                    Ok(t) if t.is_file() => restrict(&entry.path()),
                    _ => {}
                }
            }
        }
        restrict(root);
    }
}

/// Owner-only permissions on what the lake creates.
pub fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if path.is_dir() { 0o700 } else { 0o600 };
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
    }
}
