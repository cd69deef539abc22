//! A bucket's objects as folders, as the S3 console and `aws s3 ls` show them: one level under
//! the current prefix (its "folders" first, then its objects), `enter` going down a folder and
//! `esc` up one, with the flat list of every key a key away (`f`). A bucket of 10,000 keys is
//! then a handful of rows, not a list that scrolls past.

use super::list_view::ListView;
use crate::service::storage::{Listing, ObjectInfo};

/// One row of the objects view.
#[derive(Debug, Clone)]
pub enum ObjectRow {
    /// A common prefix: its full prefix, ending in `/`.
    Folder(String),
    Object(ObjectInfo),
}

impl ObjectRow {
    /// The row's name under the current prefix (what is shown and filtered on).
    pub fn name(&self) -> String {
        match self {
            ObjectRow::Folder(p) => p.clone(),
            ObjectRow::Object(o) => o.key.clone(),
        }
    }
}

pub struct Objects {
    pub bucket: String,
    /// Where the view is: `""` at the bucket's top, else a prefix ending in `/`.
    pub prefix: String,
    /// Every key at once, without folders.
    pub flat: bool,
    pub list: ListView<ObjectRow>,
}

impl Objects {
    pub fn new(bucket: String) -> Objects {
        Objects {
            bucket,
            prefix: String::new(),
            flat: false,
            list: ListView::new(ObjectRow::name),
        }
    }

    /// What to ask the storage service for: the prefix and the delimiter.
    pub fn request(&self) -> (String, Option<char>) {
        if self.flat {
            (String::new(), None)
        } else {
            (self.prefix.clone(), Some('/'))
        }
    }

    /// Takes a listing made for `prefix`/`flat`; one made for another place is stale.
    pub fn set(&mut self, prefix: &str, flat: bool, listing: Listing) {
        if prefix != self.request().0 || flat != self.flat {
            return;
        }
        let folders = listing.common_prefixes.into_iter().map(ObjectRow::Folder);
        let objects = listing.objects.into_iter().map(ObjectRow::Object);
        self.list.set(folders.chain(objects).collect());
    }

    /// Goes down into the selected folder; false when the selection is not a folder.
    pub fn enter_selected(&mut self) -> bool {
        let Some(ObjectRow::Folder(prefix)) = self.list.selected().cloned() else {
            return false;
        };
        self.prefix = prefix;
        self.list.set(Vec::new());
        true
    }

    /// Goes up one folder; false at the top (or in the flat view), where `esc` leaves the bucket.
    pub fn up(&mut self) -> bool {
        if self.flat || self.prefix.is_empty() {
            return false;
        }
        let trimmed = self.prefix.trim_end_matches('/');
        self.prefix = match trimmed.rfind('/') {
            Some(i) => trimmed[..=i].to_string(),
            None => String::new(),
        };
        self.list.set(Vec::new());
        true
    }

    pub fn toggle_flat(&mut self) {
        self.flat = !self.flat;
        self.list.set(Vec::new());
    }

    pub fn selected_object(&self) -> Option<&ObjectInfo> {
        match self.list.selected()? {
            ObjectRow::Object(o) => Some(o),
            ObjectRow::Folder(_) => None,
        }
    }

    /// `s3://bucket/prefix`, as the pane's title says where the view is.
    pub fn location(&self) -> String {
        if self.flat {
            format!("s3://{} (all keys)", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    pub fn counts(&self) -> (usize, usize) {
        let folders = self
            .list
            .items
            .iter()
            .filter(|r| matches!(r, ObjectRow::Folder(_)))
            .count();
        (folders, self.list.items.len() - folders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(prefixes: &[&str], keys: &[&str]) -> Listing {
        Listing {
            objects: keys
                .iter()
                .map(|k| ObjectInfo {
                    key: k.to_string(),
                    size: 1,
                    last_modified: chrono::Utc::now(),
                    etag: "e".into(),
                    server_side_encryption: crate::service::storage::Sse::Kms,
                    sse_kms_key_id: None,
                })
                .collect(),
            common_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn folders_go_down_and_up_and_the_flat_view_asks_for_every_key() {
        let mut o = Objects::new("b".into());
        assert_eq!(o.request(), (String::new(), Some('/')));
        o.set("", false, listing(&["raw/", "processed/"], &["top.txt"]));
        assert_eq!(o.counts(), (2, 1));
        // Folders first, then objects.
        assert!(matches!(o.list.items[0], ObjectRow::Folder(_)));
        assert!(o.enter_selected());
        assert_eq!(o.prefix, "raw/");
        assert_eq!(o.request(), ("raw/".into(), Some('/')));
        // A listing for the old place arriving late is not shown here.
        o.set("", false, listing(&["stale/"], &[]));
        assert!(o.list.items.is_empty());
        o.set("raw/", false, listing(&["raw/2026/"], &["raw/a.json"]));
        assert!(o.enter_selected());
        assert_eq!(o.prefix, "raw/2026/");
        assert!(o.up());
        assert_eq!(o.prefix, "raw/");
        assert!(o.up());
        assert_eq!(o.prefix, "");
        assert!(!o.up(), "at the top, esc leaves the bucket");
        o.toggle_flat();
        assert_eq!(o.request(), (String::new(), None));
        assert!(!o.up());
        o.set("", true, listing(&[], &["raw/a.json", "top.txt"]));
        assert_eq!(o.counts(), (0, 2));
        assert!(!o.enter_selected(), "an object is not a folder");
        assert_eq!(o.selected_object().unwrap().key, "raw/a.json");
    }
}
