//! The labelled data set the detectors are judged on: customers, cards, orders and free-text
//! tickets generated with the `fake` crate, each column labelled with the types it holds, and the
//! column-level score both judges use. Shared by the quality test and by `benches/pii.rs`, which
//! writes it out for Presidio, so the test's figures and the benchmark's come from the same cells
//! scored by the same rule.

use std::collections::{BTreeMap, BTreeSet};

use fake::Fake;
use fake::faker::company::en::CompanyName;
use fake::faker::internet::en::{IPv4, SafeEmail};
use fake::faker::name::en::{LastName, Name};
use fake::faker::phone_number::en::PhoneNumber;
use fake::rand::rngs::StdRng;
use fake::rand::{Rng, SeedableRng};

fn luhn_complete(prefix: &str, len: usize, rng: &mut StdRng) -> String {
    let mut digits: Vec<u32> = prefix.chars().map(|c| c.to_digit(10).unwrap()).collect();
    while digits.len() < len - 1 {
        digits.push(rng.random_range(0..10));
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits.iter().map(|d| d.to_string()).collect()
}

pub struct Column {
    /// The name the column was generated under (never shown to a detector).
    pub name: &'static str,
    /// The header a real export gives such a column, for judging with names.
    pub header: &'static str,
    pub cells: Vec<String>,
    pub labels: &'static [&'static str],
}

/// `rows` rows of every column, the same cells for the same `rows` on every run.
pub fn dataset(rows: usize) -> Vec<Column> {
    let mut rng = StdRng::seed_from_u64(42);
    let mut col = |(name, header), labels, f: &mut dyn FnMut(&mut StdRng) -> String| {
        let cells = (0..rows).map(|_| f(&mut rng)).collect();
        Column {
            name,
            header,
            cells,
            labels,
        }
    };
    let suffixes = [
        "St", "Street", "Ave", "Avenue", "Rd", "Road", "Blvd", "Lane", "Dr", "Drive", "Way", "Ct",
        "Court", "Pl",
    ];
    let mut out = vec![
        col(("customer_id", "Customer ID"), &[], &mut |r| {
            r.random_range(1..100_000).to_string()
        }),
        col(("full_name", "Customer Name"), &["NAME"], &mut |r| {
            Name().fake_with_rng::<String, _>(r)
        }),
        col(("email", "E-mail"), &["EMAIL_ADDRESS"], &mut |r| {
            SafeEmail().fake_with_rng::<String, _>(r)
        }),
        col(("phone", "Mobile"), &["PHONE_NUMBER"], &mut |r| {
            PhoneNumber().fake_with_rng::<String, _>(r)
        }),
        col(("street_address", "Street"), &["ADDRESS"], &mut |r| {
            format!(
                "{} {} {}",
                r.random_range(1..9999),
                LastName().fake_with_rng::<String, _>(r),
                suffixes[r.random_range(0..suffixes.len())]
            )
        }),
        col(
            ("date_of_birth", "birthdate"),
            &["DATE_OF_BIRTH"],
            &mut |r| {
                format!(
                    "{}-{:02}-{:02}",
                    r.random_range(1940..2005),
                    r.random_range(1..13),
                    r.random_range(1..29)
                )
            },
        ),
        col(("employer", "Company"), &[], &mut |r| {
            CompanyName().fake_with_rng::<String, _>(r)
        }),
        col(("signup_ts", "Signed up"), &[], &mut |r| {
            format!(
                "2026-{:02}-{:02}T{:02}:{:02}:00Z",
                r.random_range(1..13),
                r.random_range(1..29),
                r.random_range(0..24),
                r.random_range(0..60)
            )
        }),
        col(("card_number", "Card"), &["CREDIT_CARD_NUMBER"], &mut |r| {
            let (p, l) = [
                ("4", 16),
                ("51", 16),
                ("55", 16),
                ("34", 15),
                ("37", 15),
                ("6011", 16),
                ("4", 13),
            ][r.random_range(0..7)];
            luhn_complete(p, l, r)
        }),
        col(
            ("card_expiry", "Exp Date"),
            &["CREDIT_CARD_EXPIRATION"],
            &mut |r| format!("{:02}/{}", r.random_range(1..13), r.random_range(27..33)),
        ),
        col(
            ("cvv", "card_cvc"),
            &["CREDIT_CARD_SECURITY_CODE"],
            &mut |r| format!("{:03}", r.random_range(0..1000)),
        ),
        col(("amount", "Amount"), &[], &mut |r| {
            format!("{:.2}", r.random_range(1.0..5000.0))
        }),
        col(("order_id", "Order #"), &[], &mut |r| {
            (0..16).map(|_| r.random_range(0..10).to_string()).collect()
        }),
        col(("tracking_number", "Tracking"), &[], &mut |r| {
            format!(
                "94{}",
                (0..20)
                    .map(|_| r.random_range(0..10).to_string())
                    .collect::<String>()
            )
        }),
        col(("sku", "SKU"), &[], &mut |r| {
            format!(
                "SKU-{}-{}",
                r.random_range(10000..99999),
                ["S", "M", "L", "XL"][r.random_range(0..4)]
            )
        }),
        col(("quantity", "Qty"), &[], &mut |r| {
            r.random_range(1..500).to_string()
        }),
        col(("app_version", "App version"), &[], &mut |r| {
            format!(
                "{}.{}.{}",
                r.random_range(0..10),
                r.random_range(0..20),
                r.random_range(0..100)
            )
        }),
        col(("checksum", "SHA1"), &[], &mut |r| {
            (0..40)
                .map(|_| format!("{:x}", r.random_range(0..16)))
                .collect()
        }),
        col(("client_ip", "Client IP"), &["IP_ADDRESS"], &mut |r| {
            IPv4().fake_with_rng::<String, _>(r)
        }),
    ];
    out.push(col(
        ("ticket_text", "Message"),
        &["EMAIL_ADDRESS", "PHONE_NUMBER"],
        &mut |r| {
            if r.random_bool(0.6) {
                format!(
                    "Hi, my order has not arrived. Reach me at {} or call {}.",
                    SafeEmail().fake_with_rng::<String, _>(r),
                    PhoneNumber().fake_with_rng::<String, _>(r)
                )
            } else {
                format!(
                    "Order {} shipped late, version {}.",
                    r.random_range(100000..999999),
                    r.random_range(1..9)
                )
            }
        },
    ));
    out
}

/// Types that need a keyword near a value (in the column name or the text) to be reported: a
/// date, a three-digit number or two capitalised words are personal data only in context, as
/// Macie's managed identifiers require.
pub const KEYWORD_ONLY: &[&str] = &[
    "NAME",
    "DATE_OF_BIRTH",
    "CREDIT_CARD_EXPIRATION",
    "CREDIT_CARD_SECURITY_CODE",
];

/// National numbers, which Macie reports only with a keyword near them (`NI number`, `SIN`,
/// `DNI`, ...): content alone does not tell a SIN from any nine digits that pass Luhn.
pub const NATIONAL_KEYWORD_ONLY: &[&str] = &[
    "UK_NATIONAL_INSURANCE_NUMBER",
    "CANADA_SOCIAL_INSURANCE_NUMBER",
    "GERMANY_NATIONAL_IDENTIFICATION_NUMBER",
    "FRANCE_NATIONAL_IDENTIFICATION_NUMBER",
    "SPAIN_DNI_NUMBER",
    "SPAIN_NIE_NUMBER",
];

/// What a column holds by its labels: every label when the judge sees real headers, only the
/// content-detectable ones when it sees neutral names.
pub fn expected(column: &Column, with_headers: bool) -> BTreeSet<String> {
    column
        .labels
        .iter()
        .filter(|l| {
            with_headers || !(KEYWORD_ONLY.contains(l) || NATIONAL_KEYWORD_ONLY.contains(l))
        })
        .map(|s| s.to_string())
        .collect()
}

/// Column-level precision and recall: a column holds a type when a quarter of its cells were
/// found to hold it.
#[derive(Default)]
pub struct Score {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    /// Which column found or missed what, for the failure message.
    pub errors: Vec<String>,
}

impl Score {
    /// Adds one column: `hits` counts, per type, the cells it was found in.
    pub fn add(
        &mut self,
        label: &str,
        cells: usize,
        hits: &BTreeMap<String, usize>,
        expected: &BTreeSet<String>,
    ) {
        let predicted: BTreeSet<String> = hits
            .iter()
            .filter(|(_, n)| **n * 4 >= cells)
            .map(|(t, _)| t.clone())
            .collect();
        self.true_positives += predicted.intersection(expected).count();
        for t in predicted.difference(expected) {
            self.false_positives += 1;
            self.errors
                .push(format!("{label}: false {t} ({} cells)", hits[t]));
        }
        for t in expected.difference(&predicted) {
            self.false_negatives += 1;
            self.errors.push(format!(
                "{label}: missed {t} ({} cells)",
                hits.get(t).copied().unwrap_or(0)
            ));
        }
    }

    pub fn precision(&self) -> f64 {
        self.true_positives as f64 / (self.true_positives + self.false_positives).max(1) as f64
    }

    pub fn recall(&self) -> f64 {
        self.true_positives as f64 / (self.true_positives + self.false_negatives).max(1) as f64
    }
}
