//! Exact-duplicate removal that keeps no record in memory: each row is reduced to a 128-bit hash
//! of its encoded form, and only the hashes are remembered, in a set held to the run's budget.
//!
//! Past the budget the set spills, and dedup stays exact. The set so far (every row it holds was
//! written already) goes to disk as a sorted run of hashes, hash-partitioned (256 partitions by
//! the hash's top byte, each run recording where each partition starts), and a new set begins.
//! From then on a row new to the current set cannot be decided yet (its first occurrence may be
//! in a spilled run): it is set aside, in arrival order, in a pending file, and its hash is
//! remembered with its place there; rows the current set already holds are duplicates at once.
//! Each time the current set reaches the budget it becomes another sorted run. At the end each
//! partition is resolved alone (its entries from every run, sorted): a hash seen among the
//! written rows drops all its pending rows; else its earliest pending row is kept. The pending
//! rows are then replayed in order through the verdicts, so the output keeps the first of each
//! duplicate, in arrival order, exactly as without spilling.
//!
//! The runs and the pending rows are sealed scratch files (`local::scratch`): hashes of records
//! are derived data, and are never on disk in the clear. Memory: the set (a third of the budget,
//! so that sorting it into a run stays within the budget), one partition's entries while it is
//! resolved (a run fails with LimitExceededException if one partition's entries outgrow the
//! budget, about 256 times the budget's worth of hashes), and one bit per pending row.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use arrow::array::BooleanArray;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use super::budget::{Exceeded, Limit};
use super::failed;
use crate::local::scratch::{ScratchDir, ScratchFile, ScratchWriter};
use crate::service::{Result, ServiceError};

/// Partitions of the spilled hashes, by the hash's top byte.
const PARTITIONS: usize = 256;
/// A spilled entry: the hash (16 bytes) and the pending row it stands for, plus one (8 bytes;
/// 0 for a row already written).
const ENTRY_BYTES: usize = 24;
/// Memory of a set slot: a 16-byte hash and a control byte.
const SET_SLOT_BYTES: u64 = 17;
/// Memory of a map slot after a spill: hash and place (32 bytes, aligned) and a control byte.
const MAP_SLOT_BYTES: u64 = 33;
/// Memory of an entry being sorted or resolved.
const SORTED_ENTRY_BYTES: u64 = 32;

/// The set's keys are already xxh3-128 hashes: hashing them again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ *b as u64;
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

type Hashing = std::hash::BuildHasherDefault<PassThrough>;

fn partition(hash: u128) -> usize {
    (hash >> 120) as usize
}

/// One sorted run of spilled entries, and where each partition's entries start in it.
struct Run {
    file: ScratchFile,
    starts: Box<[u64; PARTITIONS + 1]>,
}

/// Writes `entries` (sorted here) as a run.
fn write_run(dir: &ScratchDir, entries: &mut [(u128, u64)]) -> Result<Run> {
    entries.sort_unstable();
    let mut counts = [0u64; PARTITIONS];
    for (hash, _) in entries.iter() {
        counts[partition(*hash)] += 1;
    }
    let mut starts = Box::new([0u64; PARTITIONS + 1]);
    let mut at = 0;
    for (start, count) in starts[1..].iter_mut().zip(counts) {
        at += count;
        *start = at;
    }
    let mut w = std::io::BufWriter::with_capacity(1 << 16, dir.create_file()?);
    let write_error =
        |e: std::io::Error| ServiceError::local_io("cannot write the dedup spill", &e);
    for (hash, place) in entries.iter() {
        w.write_all(&hash.to_be_bytes()).map_err(write_error)?;
        w.write_all(&place.to_be_bytes()).map_err(write_error)?;
    }
    let sealed: ScratchWriter = w.into_inner().map_err(|e| write_error(e.into_error()))?;
    Ok(Run {
        file: sealed.finish()?,
        starts,
    })
}

/// What the dedup holds once it has spilled.
struct Spilled {
    dir: ScratchDir,
    runs: Vec<Run>,
    /// The current generation's first occurrences: hash, and pending place plus one.
    current: HashMap<u128, u64, Hashing>,
    pending: StreamWriter<ScratchWriter>,
    pending_rows: u64,
}

impl Spilled {
    fn memory(&self) -> u64 {
        self.current.capacity() as u64 * MAP_SLOT_BYTES
    }

    /// The current generation becomes a run; a new one begins.
    fn spill_current(&mut self) -> Result<()> {
        let mut entries: Vec<(u128, u64)> = self.current.drain().collect();
        self.current = HashMap::default();
        if !entries.is_empty() {
            self.runs.push(write_run(&self.dir, &mut entries)?);
        }
        Ok(())
    }
}

/// Keeps the first of each exact duplicate row.
pub(super) struct Dedup {
    converter: RowConverter,
    schema: SchemaRef,
    /// The rows written so far (before any spill).
    seen: HashSet<u128, Hashing>,
    /// The budget (`Budget::dedup_bytes`); the set takes a third of it.
    budget: u64,
    /// Where the scratch directory goes, if the set spills.
    scratch_area: PathBuf,
    /// Names the source in a LimitExceededException.
    source: String,
    spilled: Option<Spilled>,
}

impl Dedup {
    /// `expected_rows` sizes the set up front (within its share of the budget), so it seldom
    /// grows while rows stream by.
    pub(super) fn new(
        schema: &SchemaRef,
        expected_rows: usize,
        budget: u64,
        scratch_area: PathBuf,
        source: &str,
    ) -> Result<Self> {
        let fields = schema
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields)
            .map_err(|e| failed(format!("cannot compare rows of this schema: {e}")))?;
        // A set's table is a power of two of slots at most 7/8 full: half the limit's slots
        // always fit.
        let fit = (budget / 3 / SET_SLOT_BYTES / 2) as usize;
        Ok(Dedup {
            converter,
            schema: schema.clone(),
            seen: HashSet::with_capacity_and_hasher(expected_rows.min(fit), Default::default()),
            budget,
            scratch_area,
            source: source.to_string(),
            spilled: None,
        })
    }

    /// The memory the set may take before it spills.
    fn set_limit(&self) -> u64 {
        self.budget / 3
    }

    /// The set's memory.
    pub(super) fn memory(&self) -> u64 {
        match &self.spilled {
            None => self.seen.capacity() as u64 * SET_SLOT_BYTES,
            Some(s) => s.memory(),
        }
    }

    /// Whether the set has spilled (rows now wait for `finish`).
    pub(super) fn has_spilled(&self) -> bool {
        self.spilled.is_some()
    }

    fn hashes(&self, batch: &RecordBatch) -> Result<Vec<u128>> {
        let rows = self
            .converter
            .convert_columns(batch.columns())
            .map_err(|e| failed(e.to_string()))?;
        Ok(rows
            .iter()
            .map(|r| xxhash_rust::xxh3::xxh3_128(r.as_ref()))
            .collect())
    }

    /// The rows of `batch` that can be written now, and how many were found duplicates. After a
    /// spill, rows not yet decided are held back until `finish`.
    pub(super) fn apply(&mut self, batch: &RecordBatch) -> Result<(RecordBatch, u64)> {
        let hashes = self.hashes(batch)?;
        let limit = self.set_limit();
        let Some(spilled) = self.spilled.as_mut() else {
            let keep: BooleanArray = hashes.iter().map(|h| Some(self.seen.insert(*h))).collect();
            let kept = arrow::compute::filter_record_batch(batch, &keep)
                .map_err(|e| failed(e.to_string()))?;
            let dropped = (batch.num_rows() - kept.num_rows()) as u64;
            if self.memory() > limit {
                self.spill_written()?;
            }
            return Ok((kept, dropped));
        };
        let mut keep = Vec::with_capacity(hashes.len());
        for h in hashes {
            let first = match spilled.current.entry(h) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(v) => {
                    spilled.pending_rows += 1;
                    v.insert(spilled.pending_rows);
                    true
                }
            };
            keep.push(Some(first));
        }
        let keep = BooleanArray::from(keep);
        let held =
            arrow::compute::filter_record_batch(batch, &keep).map_err(|e| failed(e.to_string()))?;
        let dropped = (batch.num_rows() - held.num_rows()) as u64;
        if held.num_rows() > 0 {
            spilled
                .pending
                .write(&held)
                .map_err(|e| failed(format!("cannot set rows aside for dedup: {e}")))?;
        }
        if spilled.memory() > limit {
            spilled.spill_current()?;
        }
        Ok((RecordBatch::new_empty(self.schema.clone()), dropped))
    }

    /// The set of written rows becomes the first run; rows from now on wait for `finish`.
    fn spill_written(&mut self) -> Result<()> {
        let dir = ScratchDir::create(&self.scratch_area, "dedup")?;
        let mut entries: Vec<(u128, u64)> = self.seen.drain().map(|h| (h, 0)).collect();
        self.seen = HashSet::default();
        let run = write_run(&dir, &mut entries)?;
        drop(entries);
        let pending = StreamWriter::try_new(dir.create_file()?, &self.schema)
            .map_err(|e| failed(format!("cannot set rows aside for dedup: {e}")))?;
        self.spilled = Some(Spilled {
            dir,
            runs: vec![run],
            current: HashMap::default(),
            pending,
            pending_rows: 0,
        });
        Ok(())
    }

    /// Decides the rows held back since a spill and hands the kept ones to `emit` in arrival
    /// order, with how many of each batch were duplicates. Without a spill there are none.
    pub(super) fn finish(self, emit: &mut dyn FnMut(RecordBatch, u64) -> Result<()>) -> Result<()> {
        let Some(mut spilled) = self.spilled else {
            return Ok(());
        };
        spilled.spill_current()?;
        let pending = spilled
            .pending
            .into_inner()
            .map_err(|e| failed(format!("cannot set rows aside for dedup: {e}")))?
            .finish()?;
        // One bit a pending row: kept or not.
        let mut kept = vec![0u64; (spilled.pending_rows as usize).div_ceil(64)];
        let mut entries: Vec<(u128, u64)> = Vec::new();
        for p in 0..PARTITIONS {
            entries.clear();
            let total: u64 = spilled
                .runs
                .iter()
                .map(|r| r.starts[p + 1] - r.starts[p])
                .sum();
            if total * SORTED_ENTRY_BYTES > self.budget {
                let limit = Limit::Memory {
                    what: "one partition of the spilled set of distinct rows (--dedup)",
                    limit: self.budget,
                };
                return Err(Exceeded::new(&self.source, limit).into());
            }
            for run in &spilled.runs {
                let (from, to) = (run.starts[p], run.starts[p + 1]);
                let bytes = run
                    .file
                    .read_range(from * ENTRY_BYTES as u64, (to - from) * ENTRY_BYTES as u64)?;
                entries.extend(bytes.chunks_exact(ENTRY_BYTES).map(|e| {
                    let hash = u128::from_be_bytes(e[..16].try_into().expect("16 bytes"));
                    let place = u64::from_be_bytes(e[16..].try_into().expect("8 bytes"));
                    (hash, place)
                }));
            }
            entries.sort_unstable();
            // Sorted by hash, then place: a written row (0) comes first, else the earliest.
            let mut previous = None;
            for &(hash, place) in entries.iter() {
                if previous != Some(hash) && place > 0 {
                    let row = (place - 1) as usize;
                    kept[row / 64] |= 1 << (row % 64);
                }
                previous = Some(hash);
            }
        }
        drop(entries);
        drop(spilled.runs);
        let reader = StreamReader::try_new(pending.reader(), None)
            .map_err(|e| failed(format!("cannot read the rows set aside for dedup: {e}")))?;
        let mut row = 0usize;
        for batch in reader {
            let batch = batch
                .map_err(|e| failed(format!("cannot read the rows set aside for dedup: {e}")))?;
            let keep: BooleanArray = (row..row + batch.num_rows())
                .map(|r| Some(kept[r / 64] & (1 << (r % 64)) != 0))
                .collect();
            row += batch.num_rows();
            let out = arrow::compute::filter_record_batch(&batch, &keep)
                .map_err(|e| failed(e.to_string()))?;
            let dropped = (batch.num_rows() - out.num_rows()) as u64;
            emit(out, dropped)?;
        }
        drop(pending);
        drop(spilled.dir);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(ids: &[Option<i64>], names: &[Option<&str>]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(names.to_vec())),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn ids(b: &RecordBatch) -> Vec<Option<i64>> {
        b.column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .iter()
            .collect()
    }

    fn dedup(schema: &SchemaRef, budget: u64, area: &std::path::Path) -> Dedup {
        Dedup::new(schema, 4, budget, area.to_path_buf(), "s3://b/").unwrap()
    }

    #[test]
    fn the_first_of_each_exact_duplicate_is_kept_across_batches() {
        let area = tempfile::tempdir().unwrap();
        let first = batch(
            &[Some(1), Some(2), Some(1), Some(3)],
            &[Some("a"), Some("b"), Some("a"), Some("a")],
        );
        let mut dedup = dedup(&first.schema(), 1 << 30, area.path());
        let (kept, dropped) = dedup.apply(&first).unwrap();
        assert_eq!(ids(&kept), [Some(1), Some(2), Some(3)]);
        assert_eq!(dropped, 1);
        // A later batch's rows are compared with every earlier one.
        let second = batch(
            &[Some(2), Some(4), Some(4)],
            &[Some("b"), Some("d"), Some("d")],
        );
        let (kept, dropped) = dedup.apply(&second).unwrap();
        assert_eq!(ids(&kept), [Some(4)]);
        assert_eq!(dropped, 2);
        assert!(!dedup.has_spilled());
    }

    #[test]
    fn rows_differing_only_in_nulls_empties_or_which_column_holds_what_are_kept() {
        // Null and "" differ; so do ("ab", "") and ("a", "b") split across columns, which a
        // naive concatenation of the cells would confuse.
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Utf8, true),
            Field::new("y", DataType::Utf8, true),
        ]));
        let rows = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    None,
                    Some(""),
                    Some("ab"),
                    Some("a"),
                ])),
                Arc::new(StringArray::from(vec![
                    Some(""),
                    Some(""),
                    Some(""),
                    Some("b"),
                ])),
            ],
        )
        .unwrap();
        let area = tempfile::tempdir().unwrap();
        let mut dedup = Dedup::new(&schema, 0, 1 << 30, area.path().into(), "s3://b/").unwrap();
        let (kept, dropped) = dedup.apply(&rows).unwrap();
        assert_eq!((kept.num_rows(), dropped), (4, 0));
        // The set grows past the size it was given, and says so in its memory.
        assert!(dedup.memory() >= 4 * 17);
    }

    #[test]
    fn an_empty_batch_passes_through() {
        let area = tempfile::tempdir().unwrap();
        let empty = batch(&[], &[]);
        let mut dedup = dedup(&empty.schema(), 1 << 30, area.path());
        let (kept, dropped) = dedup.apply(&empty).unwrap();
        assert_eq!((kept.num_rows(), dropped), (0, 0));
    }

    /// Batches of 500 rows where row i is (i % distinct, "secret-<i % distinct>"): each value
    /// comes back `distinct` rows later, far beyond any one batch.
    fn spread(total: i64, distinct: i64) -> Vec<RecordBatch> {
        (0..total)
            .collect::<Vec<_>>()
            .chunks(500)
            .map(|c| {
                let ids: Vec<Option<i64>> = c.iter().map(|i| Some(i % distinct)).collect();
                let names: Vec<String> = c
                    .iter()
                    .map(|i| format!("secret-{:06}", i % distinct))
                    .collect();
                let names: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();
                batch(&ids, &names)
            })
            .collect()
    }

    /// Ids kept, duplicates, the scratch files' bytes, and the rows' hashes.
    type Observed = (Vec<Option<i64>>, u64, Vec<Vec<u8>>, Vec<u128>);

    /// Every row kept, in order, and the duplicates counted, with `budget`; also whatever the
    /// scratch area held at its fullest (the files while they existed).
    fn run(batches: &[RecordBatch], budget: u64, area: &std::path::Path) -> Observed {
        let mut dedup = dedup(&batches[0].schema(), budget, area);
        let (mut out, mut dropped, mut hashes) = (Vec::new(), 0, Vec::new());
        for b in batches {
            hashes.extend(dedup.hashes(b).unwrap());
            let (kept, d) = dedup.apply(b).unwrap();
            out.extend(ids(&kept));
            dropped += d;
        }
        let files = scratch_files(area);
        dedup
            .finish(&mut |kept, d| {
                out.extend(ids(&kept));
                dropped += d;
                Ok(())
            })
            .unwrap();
        (out, dropped, files, hashes)
    }

    fn scratch_files(area: &std::path::Path) -> Vec<Vec<u8>> {
        let mut files = Vec::new();
        for dir in std::fs::read_dir(area).unwrap().flatten() {
            for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
                files.push(std::fs::read(f.path()).unwrap());
            }
        }
        files
    }

    #[test]
    fn past_its_budget_the_set_spills_sealed_and_dedup_stays_exact_and_in_order() {
        let batches = spread(40_000, 7_000);
        let roomy = tempfile::tempdir().unwrap();
        let (expected, dropped, files, _) = run(&batches, 1 << 30, roomy.path());
        assert!(files.is_empty(), "no spill within the budget");
        assert_eq!(expected, (0..7_000i64).map(Some).collect::<Vec<_>>());
        assert_eq!(dropped, 33_000);

        // 32 KiB: the set holds a few hundred hashes, so it spills many runs.
        let tight = tempfile::tempdir().unwrap();
        let (out, dropped, files, hashes) = run(&batches, 32 << 10, tight.path());
        assert_eq!(out, expected, "the same rows, in the same order");
        assert_eq!(dropped, 33_000);
        assert!(
            files.len() > 3,
            "runs and the pending rows: {}",
            files.len()
        );
        let hashes: HashSet<[u8; 16]> = hashes.iter().map(|h| h.to_be_bytes()).collect();
        for f in &files {
            assert!(
                !f.windows(7).any(|w| w == b"secret-"),
                "no record in the clear"
            );
            assert!(
                !f.windows(16)
                    .any(|w| hashes.contains(&<[u8; 16]>::try_from(w).unwrap())),
                "no hash in the clear"
            );
        }
        assert!(scratch_files(tight.path()).is_empty(), "gone after the run");
        assert_eq!(std::fs::read_dir(tight.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_run_that_fails_midway_leaves_no_scratch_file() {
        let batches = spread(20_000, 5_000);
        let area = tempfile::tempdir().unwrap();
        let mut dedup = dedup(&batches[0].schema(), 32 << 10, area.path());
        for b in &batches[..20] {
            dedup.apply(b).unwrap();
        }
        assert!(dedup.has_spilled());
        assert!(!scratch_files(area.path()).is_empty());
        // The run fails here: the dedup is dropped without finishing.
        drop(dedup);
        assert_eq!(std::fs::read_dir(area.path()).unwrap().count(), 0);
    }
}
