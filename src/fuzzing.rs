//! What the fuzz targets in `fuzz/` call: each decoder of untrusted input behind one function
//! taking bytes, so a target is one line and the harness needs no private paths. Not an API.

use std::io::Cursor;
use std::sync::Arc;

use crate::etl::budget::Budget;
use crate::etl::source::{self, Format, JsonBatch};

/// The budget the readers are fuzzed with: small, so its limits are reached too.
fn budget() -> Budget {
    Budget {
        max_record_bytes: 4096,
        max_expansion: 50,
        expansion_floor: 64 << 10,
        max_object_bytes: 4 << 20,
        memory_bytes: 1 << 20,
    }
}

/// A row filter, against a fixed table.
pub fn row_filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let columns = ["id", "country", "amount", "name"].map(String::from);
    let _ = crate::local::fuzz_hooks::row_filter(text, &columns);
}

/// A policy document: whatever parses must print and parse again to the same document.
pub fn policy_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(doc) = crate::service::policy::PolicyDocument::parse(text) {
        let printed = doc.to_json();
        let again = crate::service::policy::PolicyDocument::parse(&printed)
            .expect("a printed policy parses again");
        assert_eq!(again.to_json(), printed, "printing a policy is stable");
    }
}

/// The envelope's decoder: arbitrary bytes as a sealed object body.
pub fn envelope(data: &[u8]) {
    let _ = crate::local::fuzz_hooks::sealed_object(data);
}

/// The job's, crawler's, classifier's and queries' readers: sniffing (gzip included), schema
/// inference and decoding, as CSV or JSON (lines or an array) by the bytes.
pub fn source_reader(data: &[u8]) {
    let budget = budget();
    let Ok((format, reader, _)) =
        source::sniff(Box::new(Cursor::new(data.to_vec())), "fuzz", &budget)
    else {
        return;
    };
    match format {
        Format::JsonLines | Format::JsonArray => {
            let mut records = source::JsonRecords::new(reader, format, "fuzz", &budget);
            let mut sample = Vec::new();
            let mut batch = JsonBatch::default();
            while let Ok(Some((line, record))) = records.next_record() {
                if source::json_record_problem("fuzz", line, record).is_none() {
                    sample.push(record.to_vec());
                }
                batch.push(line, record);
                if batch.len() > 64 {
                    break;
                }
            }
            if let Ok(schema) = source::infer_json(&sample) {
                let mut quarantine = Vec::new();
                let _ = source::decode_json(&Arc::new(schema), "fuzz", &batch, &mut quarantine);
            }
        }
        Format::Csv => {
            let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
            let Ok(header) = csv.headers().cloned() else {
                return;
            };
            let rows: Vec<(u64, csv::StringRecord)> = csv
                .records()
                .take(64)
                .filter_map(Result::ok)
                .enumerate()
                .map(|(i, r)| (i as u64 + 2, r))
                .collect();
            let sample: Vec<csv::StringRecord> = rows.iter().map(|(_, r)| r.clone()).collect();
            let schema = Arc::new(source::infer_csv(&header, &sample));
            let mut quarantine = Vec::new();
            let _ = source::decode_csv(&schema, "fuzz", &rows, &mut quarantine);
        }
        Format::Parquet => {}
    }
}

#[cfg(test)]
mod tests {
    /// The fuzz targets' seeds, and cheap random mutations of them, as a test that runs with
    /// the others (cargo fuzz goes much further; see benches/fuzz.sh).
    #[test]
    fn the_seeds_and_their_mutations_end_in_an_answer_or_an_error() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 4] = [
            ("row_filter", super::row_filter),
            ("policy_json", super::policy_json),
            ("envelope", super::envelope),
            ("source_reader", super::source_reader),
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (target, run) in targets {
            for seed in std::fs::read_dir(dir.join(target)).unwrap() {
                let seed = std::fs::read(seed.unwrap().path()).unwrap();
                run(&seed);
                for _ in 0..300 {
                    let mut input = seed.clone();
                    for _ in 0..1 + next() % 4 {
                        let at = (next() as usize) % input.len().max(1);
                        match next() % 3 {
                            0 if !input.is_empty() => input[at] = next() as u8,
                            1 => input.insert(at.min(input.len()), next() as u8),
                            _ if !input.is_empty() => {
                                input.remove(at);
                            }
                            _ => {}
                        }
                    }
                    run(&input);
                }
            }
        }
    }
}
