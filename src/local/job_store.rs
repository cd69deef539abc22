//! The local lake as the ETL engine's store: sources are sealed objects opened (and audited) for
//! the job's role, output is sealed into tmp/ and committed in one transaction that also removes
//! the previous run's output.

use std::io::Read;

use super::Lake;
use super::envelope::SealedObject;
use super::objects::{BodyWriter, SealedBody};
use crate::etl::{JobStore, SourceObject};
use crate::service::storage::PutOptions;
use crate::service::{Principal, Result};

impl SourceObject for SealedObject {
    fn len(&self) -> u64 {
        SealedObject::len(self)
    }

    fn reader_at(&self, start: u64) -> Box<dyn Read + Send> {
        Box::new(SealedObject::reader_at(self, start))
    }

    fn read_range(&self, start: u64, len: u64) -> std::io::Result<Vec<u8>> {
        SealedObject::read_range(self, start, len).map_err(std::io::Error::other)
    }
}

impl JobStore for Lake {
    type Body = BodyWriter;
    type Written = SealedBody;

    /// Inside the lake, beside the bodies being written: swept on open if a run was killed.
    fn scratch_area(&self) -> std::path::PathBuf {
        self.dir.tmp()
    }

    fn open(&self, by: &Principal, bucket: &str, key: &str) -> Result<Box<dyn SourceObject>> {
        let (_, object) = self.open_object(by, bucket, key)?;
        Ok(Box::new(object))
    }

    fn create(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        put: &PutOptions,
    ) -> Result<BodyWriter> {
        let plan = self.meta.read(|tx| {
            let caller = self.caller(tx, by)?;
            self.plan_put(tx, &caller, bucket, key, put)
        })?;
        self.body_writer(plan)
    }

    fn finish(&self, body: BodyWriter) -> Result<(SealedBody, u64)> {
        let sealed = body.finish()?;
        let len = sealed.len();
        Ok((sealed, len))
    }

    fn commit(
        &self,
        by: &Principal,
        written: Vec<SealedBody>,
        replace: (&str, &str),
    ) -> Result<()> {
        self.commit_bodies(by, written, Some(replace))
    }
}
