//! Throughput of the detectors: every cell of the seed's customer, card and bank tables, scanned
//! with its column name, repeated until about 100 MB went through. Prints MB/s and cells/s on
//! one core. Run with `cargo bench --bench pii`.

use std::time::Instant;

use lakectl::pii::{AllowList, CustomIdentifier, Scanner};

fn main() {
    let tables = [
        include_str!("../assets/demo/customers.csv"),
        include_str!("../assets/demo/credit_cards.csv"),
        include_str!("../assets/demo/bank.csv"),
    ];
    let mut cells: Vec<(String, String)> = Vec::new();
    for table in tables {
        let mut reader = csv::Reader::from_reader(table.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        for row in reader.records() {
            for (i, cell) in row.unwrap().iter().enumerate() {
                cells.push((header[i].clone(), cell.to_string()));
            }
        }
    }
    let bytes: usize = cells.iter().map(|(_, c)| c.len()).sum();
    let custom = vec![
        CustomIdentifier::new(
            "account_number",
            r"(XYZ-)\d{1,2}",
            &["account_number".into()],
            &["000000".into()],
            20,
        )
        .unwrap(),
    ];
    let scanner = Scanner::new(custom, AllowList::default());
    // One column scanner per column, as a classification job keeps them.
    let columns: std::collections::HashMap<&str, _> = cells
        .iter()
        .map(|(c, _)| (c.as_str(), scanner.column(c)))
        .collect();
    let rounds = (100_000_000 / bytes).max(1);
    let start = Instant::now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for (column, cell) in &cells {
            found += columns[column.as_str()].scan(cell).len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let total = (bytes * rounds) as f64;
    println!(
        "pii::scan: {:.1} MB/s, {:.0} cells/s on one core ({} cells x {rounds} rounds, {found} matches)",
        total / secs / 1e6,
        (cells.len() * rounds) as f64 / secs,
        cells.len()
    );
}
