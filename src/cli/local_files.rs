//! Where objects meet this machine's files. Keys are written by whoever may put into a bucket,
//! so a key is never trusted as a path: `landing` maps a key under a destination directory or
//! says why it would land outside (the AWS CLI refuses the same keys). Downloads are written to
//! an owner-only temporary file that is removed on every path but success (`PartialDownload`).
//! Recursive uploads walk directories following symlinks, as the AWS CLI does, but never into a
//! directory they are already inside (`walk`), so a symlink loop is skipped, not uploaded again
//! and again.

use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::service::{Code, Result, ServiceError};

/// The path under `root` where the object `key`, listed under `prefix`, lands, or why it may not.
pub fn landing(root: &Path, prefix: &str, key: &str) -> std::result::Result<PathBuf, String> {
    let rest = key.strip_prefix(prefix).unwrap_or(key);
    // `s3://B/dir` lists `dir/a`: the separator after a prefix that does not end in one.
    let rest = if !prefix.is_empty() && !prefix.ends_with('/') {
        rest.strip_prefix('/').unwrap_or(rest)
    } else {
        rest
    };
    relative_path(rest).map(|rel| root.join(rel))
}

/// `rest` as a relative path of plain names, or why it is not one.
fn relative_path(rest: &str) -> std::result::Result<PathBuf, String> {
    if rest.is_empty() {
        return Err("it names no file under the destination".into());
    }
    if rest.starts_with('/') {
        return Err("it is an absolute path".into());
    }
    let mut path = PathBuf::new();
    for segment in rest.split('/') {
        match segment {
            "" => return Err("it has an empty path segment (`//` or a trailing `/`)".into()),
            "." | ".." => {
                return Err(format!(
                    "it has a `{segment}` segment and would land outside the destination"
                ));
            }
            s if s.contains('\0') => return Err("it has a NUL character".into()),
            s if cfg!(windows) && s.contains(['\\', ':']) => {
                return Err("it has a `\\` or `:`, which this system reads as a path".into());
            }
            s => {
                // One segment must be one plain name on this system too.
                let mut parts = Path::new(s).components();
                match (parts.next(), parts.next()) {
                    (Some(Component::Normal(_)), None) => path.push(s),
                    _ => return Err(format!("its segment {s:?} is not a plain file name")),
                }
            }
        }
    }
    Ok(path)
}

/// Fails when `dir` (which exists) resolves outside `root`: a symlink already in the destination
/// must not carry a download elsewhere.
pub fn ensure_inside(root: &Path, dir: &Path) -> std::result::Result<(), String> {
    let (Ok(root), Ok(dir)) = (root.canonicalize(), dir.canonicalize()) else {
        return Err("its folder cannot be resolved".into());
    };
    if dir.starts_with(&root) {
        Ok(())
    } else {
        Err("a symlink in the destination leads outside it".into())
    }
}

/// A download in progress: an owner-only (0600) temporary file beside its destination, renamed
/// into place by `finish`; dropped any other way, it is removed.
pub struct PartialDownload {
    temp: tempfile::NamedTempFile,
    destination: PathBuf,
}

impl PartialDownload {
    /// Creates the destination's folder if needed and the temporary file in it.
    pub fn begin(destination: &Path) -> Result<Self> {
        let dir = destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir)
            .map_err(|e| ServiceError::local_io(&format!("cannot create {}", dir.display()), &e))?;
        // tempfile creates the file O_EXCL with mode 0600.
        let temp = tempfile::Builder::new()
            .prefix(".lakectl-download-")
            .tempfile_in(dir)
            .map_err(|e| {
                ServiceError::local_io(&format!("cannot write in {}", dir.display()), &e)
            })?;
        Ok(PartialDownload {
            temp,
            destination: destination.to_path_buf(),
        })
    }

    /// Where the bytes go.
    pub fn writer(&self) -> Result<Box<dyn Write + Send>> {
        let file = self
            .temp
            .as_file()
            .try_clone()
            .map_err(|e| ServiceError::local_io("cannot write a download", &e))?;
        Ok(Box::new(file))
    }

    /// The whole object arrived: it takes the destination's name.
    pub fn finish(self) -> Result<()> {
        let destination = self.destination;
        self.temp.persist(&destination).map_err(|e| {
            // The PersistError owns the temporary file; dropping it here removes it.
            ServiceError::local_io(&format!("cannot write {}", destination.display()), &e.error)
        })?;
        Ok(())
    }
}

/// A file a recursive upload sends, and its key under the destination prefix.
pub struct LocalFile {
    pub path: PathBuf,
    pub key_suffix: String,
}

/// What a recursive upload sends and what it skipped (path, reason).
pub struct Walk {
    pub files: Vec<LocalFile>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// A directory still to read: its path, the key prefix of what is in it, and the ids of the
/// directories it lies inside (itself included).
struct PendingDir {
    path: PathBuf,
    key_prefix: String,
    inside: Vec<(u64, u64)>,
}

/// Identifies a directory whatever the path it is reached by.
#[cfg(unix)]
fn dir_id(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn dir_id(_meta: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Every file under `root`, in a stable order, following symlinks except into a directory the
/// walk is already inside (a loop); broken links and names that are not UTF-8 are skipped.
pub fn walk(root: &Path) -> Result<Walk> {
    let meta = fs::metadata(root)
        .map_err(|e| ServiceError::local_io(&format!("cannot read {}", root.display()), &e))?;
    if !meta.is_dir() {
        return Err(ServiceError::new(
            Code::InvalidArgument,
            format!("{} is not a directory (drop --recursive)", root.display()),
        ));
    }
    let mut out = Walk {
        files: Vec::new(),
        skipped: Vec::new(),
    };
    let mut dirs = vec![PendingDir {
        path: root.to_path_buf(),
        key_prefix: String::new(),
        inside: vec![dir_id(&meta)],
    }];
    while let Some(PendingDir {
        path: dir,
        key_prefix,
        inside,
    }) = dirs.pop()
    {
        let entries = fs::read_dir(&dir)
            .map_err(|e| ServiceError::local_io(&format!("cannot read {}", dir.display()), &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ServiceError::local_io("cannot read a directory", &e))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                out.skipped
                    .push((path, "its name is not UTF-8, so it cannot be a key".into()));
                continue;
            };
            let key_suffix = format!("{key_prefix}{name}");
            let meta = match fs::metadata(&path) {
                Ok(m) => m,
                Err(_) => {
                    out.skipped
                        .push((path, "it does not exist (a broken symlink?)".into()));
                    continue;
                }
            };
            if meta.is_dir() {
                let id = dir_id(&meta);
                if cfg!(unix) && inside.contains(&id) {
                    out.skipped.push((
                        path,
                        "it is a symlink to a folder it is inside (a loop); not followed".into(),
                    ));
                    continue;
                }
                let mut inner = inside.clone();
                inner.push(id);
                dirs.push(PendingDir {
                    path,
                    key_prefix: format!("{key_suffix}/"),
                    inside: inner,
                });
            } else {
                out.files.push(LocalFile { path, key_suffix });
            }
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out.skipped.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_would_leave_the_destination_do_not_land() {
        let root = Path::new("dl");
        let land = |prefix: &str, key: &str| landing(root, prefix, key);
        assert_eq!(land("", "a/b.csv").unwrap(), root.join("a").join("b.csv"));
        assert_eq!(land("dir", "dir/x").unwrap(), root.join("x"));
        assert_eq!(land("dir/", "dir/x").unwrap(), root.join("x"));
        for bad in [
            "analyst/../../../../tmp/x/ESCAPED.sh",
            "..",
            "a/./b",
            "/etc/passwd",
            "a//b",
            "a/",
            "",
            "a/\0/b",
        ] {
            assert!(land("", bad).is_err(), "{bad:?} landed");
        }
        assert!(land("dir", "dir//etc/passwd").is_err());
    }
}
