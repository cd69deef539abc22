//! lakectl's detectors and Microsoft Presidio doing the same work: one pass over the same
//! labelled cells (the quality test's data set, `tests/it/pii_quality/dataset.rs`), judged by the
//! same column-level rule against what each column truly holds, once under neutral column names
//! (content alone: a name or a date of birth is then found by content or missed) and once under
//! the headers real exports use (each side gets the header: lakectl as its column name, Presidio as
//! context words through `analyze_dict`). This binary scores lakectl and writes the cells and
//! labels for `benches/presidio.py`; `benches/presidio.sh` runs both and prints them side by side.
//!
//!   cargo bench --bench pii -- [ROWS] [DIR]        (default 500 rows; DIR gets the CSV files)
//!
//! The time is the detectors' alone: cells already in memory, one core, the column scanners
//! built inside the timed part; reading files and starting the process are outside it on both
//! sides.
//!
//! It then scores lakectl alone, the same two ways, on the UK, German, French, Spanish and
//! Canadian data sets (`tests/it/pii_quality/locales.rs`, Faker's formats for en_GB, de_DE,
//! fr_FR, es_ES and en_CA): one JSON line per locale and setting, judged as the quality test
//! judges them (under neutral names, the types that need a keyword are not expected).

#[path = "../tests/it/pii_quality/dataset.rs"]
mod dataset;
#[path = "../tests/it/pii_quality/locales.rs"]
mod locales;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use dataset::{Column, Score, dataset, expected};
use lakectl::pii::{AllowList, Scanner};

/// Scans every cell of `columns` once under `names`, scoring against the labels (all of them
/// when `keyword_types_expected`, else only those content alone can reveal).
fn judge(columns: &[Column], names: &[String], keyword_types_expected: bool) -> (Score, f64) {
    let scanner = Scanner::new(vec![], AllowList::default());
    let start = Instant::now();
    let hits: Vec<BTreeMap<String, usize>> = columns
        .iter()
        .zip(names)
        .map(|(column, name)| {
            let in_column = scanner.column(name);
            let mut hits = BTreeMap::new();
            for cell in &column.cells {
                let found: BTreeSet<String> = in_column
                    .scan(cell)
                    .into_iter()
                    .map(|m| m.identifier.to_string())
                    .collect();
                for t in found {
                    *hits.entry(t).or_insert(0) += 1;
                }
            }
            hits
        })
        .collect();
    let secs = start.elapsed().as_secs_f64();
    let mut score = Score::default();
    for ((column, name), hits) in columns.iter().zip(names).zip(&hits) {
        score.add(
            &format!("{name} ({})", column.name),
            column.cells.len(),
            hits,
            &expected(column, keyword_types_expected),
        );
    }
    (score, secs)
}

fn write_csv(path: &std::path::Path, names: &[String], columns: &[Column]) {
    let mut out = csv::Writer::from_path(path).expect("writable bench dir");
    out.write_record(names).unwrap();
    for row in 0..columns[0].cells.len() {
        out.write_record(columns.iter().map(|c| c.cells[row].as_str()))
            .unwrap();
    }
    out.flush().unwrap();
}

fn main() {
    // `cargo bench` passes `--bench`; the numbers and the directory are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rows: usize = args.first().map_or(500, |n| n.parse().expect("ROWS"));
    let dir = args.get(1).map(std::path::PathBuf::from);
    let columns = dataset(rows);

    // Presidio gets the US data set: its model is English.
    if let Some(dir) = &dir {
        let neutral: Vec<String> = (0..columns.len()).map(|i| format!("c{i:02}")).collect();
        let headers: Vec<String> = columns.iter().map(|c| c.header.to_string()).collect();
        write_csv(&dir.join("neutral.csv"), &neutral, &columns);
        write_csv(&dir.join("named.csv"), &headers, &columns);
        let labels: Vec<serde_json::Value> = columns
            .iter()
            .map(|c| serde_json::json!({ "name": c.name, "labels": expected(c, true) }))
            .collect();
        std::fs::write(
            dir.join("labels.json"),
            serde_json::to_vec(&labels).unwrap(),
        )
        .unwrap();
    }

    let by_locale = std::iter::once(("en_US", columns)).chain(locales::locales(rows));
    for (locale, columns) in by_locale {
        let cells = rows * columns.len();
        let neutral: Vec<String> = (0..columns.len()).map(|i| format!("c{i:02}")).collect();
        let headers: Vec<String> = columns.iter().map(|c| c.header.to_string()).collect();
        for (setting, names) in [("neutral", &neutral), ("named", &headers)] {
            // Beside Presidio (en_US), a keyword-only type under a neutral name counts as a miss
            // for both tools; elsewhere it is not expected there, as in the quality test.
            let keyword_types_expected = setting == "named" || locale == "en_US";
            let (score, secs) = judge(&columns, names, keyword_types_expected);
            println!(
                "{}",
                serde_json::json!({
                    "tool": "lakectl",
                    "locale": locale,
                    "setting": setting,
                    "cells": cells,
                    "seconds": secs,
                    "cells_per_second": cells as f64 / secs,
                    "precision": score.precision(),
                    "recall": score.recall(),
                    "errors": score.errors,
                })
            );
        }
    }
}
