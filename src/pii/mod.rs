//! Sensitive-data detectors, pure: text (and the name of the column or JSON path it came from) in,
//! matches out. Managed identifiers carry Macie's names. A candidate must fit its pattern, pass
//! its validator (Luhn, mod-97, the SSA's ranges, ...) and, for the identifiers that need one, have
//! a keyword near it: within `KEYWORD_DISTANCE` characters before it, or in the column name, which
//! is normalised so that `card_security_code` says "card security code".
//! Custom data identifiers add a regex, keywords, ignore words and a maximum match distance;
//! allow lists suppress matches.

mod managed;
mod managed_countries;
pub mod national;
pub mod validate;

use managed::managed;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Category {
    Personal,
    Financial,
    Credentials,
    CustomIdentifier,
}

/// How far before a match a keyword may stand (Macie's default for most identifiers).
pub const KEYWORD_DISTANCE: usize = 50;

/// A custom data identifier, as Macie defines one.
#[derive(Debug, Clone)]
pub struct CustomIdentifier {
    pub name: Arc<str>,
    pub regex: Regex,
    pub keywords: Vec<String>,
    pub ignore_words: Vec<String>,
    pub maximum_match_distance: usize,
}

impl CustomIdentifier {
    pub fn new(
        name: &str,
        regex: &str,
        keywords: &[String],
        ignore_words: &[String],
        distance: usize,
    ) -> Result<Self, String> {
        Ok(CustomIdentifier {
            name: Arc::from(name),
            regex: Regex::new(regex).map_err(|e| format!("the regex does not compile: {e}"))?,
            keywords: keywords
                .iter()
                .map(|k| normalize(k))
                .filter(|k| !k.is_empty())
                .collect(),
            ignore_words: ignore_words.to_vec(),
            maximum_match_distance: distance,
        })
    }
}

/// Words or patterns whose matches are not reported.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    pub words: Vec<String>,
    pub patterns: Vec<Regex>,
}

impl AllowList {
    fn allows(&self, text: &str) -> bool {
        self.words.iter().any(|w| w == text)
            || self
                .patterns
                .iter()
                .any(|p| p.find(text).is_some_and(|m| m.len() == text.len()))
    }
}

/// A match: which identifier, its category, and where in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// A managed identifier's type (`CREDIT_CARD_NUMBER`) or a custom identifier's name.
    pub identifier: Arc<str>,
    pub category: Category,
    pub start: usize,
    pub end: usize,
}

/// Lowercase words separated by single spaces: `card_security_code`, `cardSecurityCode` and
/// `card-security-code` all become "card security code".
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push(' ');
        }
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    out.trim().to_string()
}

/// Whether `keyword` stands as whole words in normalised `text` (a single word of four letters
/// or more may also begin a longer word: "expire" in "expires"). No allocation: this runs for
/// every candidate of an identifier that needs a keyword.
fn contains_words(text: &str, keyword: &str) -> bool {
    if keyword.is_empty() {
        return false;
    }
    let prefix_ok = !keyword.contains(' ') && keyword.len() >= 4;
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(keyword) {
        let start = from + i;
        let end = start + keyword.len();
        let starts_word = start == 0 || bytes[start - 1] == b' ';
        let ends_word = end == bytes.len() || bytes[end] == b' ';
        if starts_word && (ends_word || prefix_ok) {
            return true;
        }
        from = start + 1;
        while !text.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// Is one of `keywords` within `distance` characters before `start` in `text`?
fn keyword_before(text: &str, start: usize, distance: usize, keywords: &[impl AsRef<str>]) -> bool {
    let mut from = start.saturating_sub(distance);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let before = &text[from..start];
    // Most candidates stand in cells of digits: no letter, no keyword.
    if !before.bytes().any(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let before = normalize(before);
    keywords.iter().any(|k| contains_words(&before, k.as_ref()))
}

/// The detectors, compiled once: one `RegexSet` pass over a value tells which patterns can match
/// at all, so a value costs one scan plus the few patterns it may hold.
pub struct Scanner {
    set: regex::RegexSet,
    custom: Vec<CustomIdentifier>,
    allow: AllowList,
    /// Smaller sets for values without letters, by which patterns can fire in them (see
    /// `ColumnScanner::letterless`), compiled once per distinct choice.
    letterless: Mutex<HashMap<Vec<bool>, Arc<PatternSubset>>>,
}

/// A `RegexSet` over some of a scanner's patterns: `position[i]` is pattern `i`'s place in it.
struct PatternSubset {
    set: regex::RegexSet,
    position: Vec<Option<usize>>,
}

/// A scanner for the values of one column (or JSON path): the name is normalised once, and the
/// keywords it supplies are decided once.
pub struct ColumnScanner<'a> {
    scanner: &'a Scanner,
    managed_keyed: Vec<bool>,
    custom_keyed: Vec<bool>,
    /// The patterns that can fire in a value without letters (most cells of most tables: ids,
    /// amounts, dates): there is no keyword in such a value, so an identifier that needs one fires
    /// only if this column's name supplies it, and the others need not be scanned for at all.
    letterless: OnceLock<Arc<PatternSubset>>,
}

impl Scanner {
    pub fn new(custom: Vec<CustomIdentifier>, allow: AllowList) -> Self {
        let set = regex::RegexSet::new(Self::patterns(&custom))
            .expect("every pattern compiled on its own");
        Scanner {
            set,
            custom,
            allow,
            letterless: Mutex::default(),
        }
    }

    /// Every pattern: the managed identifiers', then the custom ones'.
    fn patterns(custom: &[CustomIdentifier]) -> impl Iterator<Item = String> + '_ {
        managed()
            .iter()
            .map(|m| m.pattern.as_str().to_string())
            .chain(custom.iter().map(|c| c.regex.as_str().to_string()))
    }

    /// The set of the patterns `wanted` names, compiled on first use.
    fn subset(&self, wanted: Vec<bool>) -> Arc<PatternSubset> {
        let mut cache = self.letterless.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(subset) = cache.get(&wanted) {
            return subset.clone();
        }
        let mut position = Vec::with_capacity(wanted.len());
        let mut chosen = Vec::new();
        for (pattern, &want) in Self::patterns(&self.custom).zip(&wanted) {
            position.push(want.then_some(chosen.len()));
            if want {
                chosen.push(pattern);
            }
        }
        let set = regex::RegexSet::new(chosen).expect("every pattern compiled on its own");
        let subset = Arc::new(PatternSubset { set, position });
        cache.insert(wanted, subset.clone());
        subset
    }

    pub fn column(&self, name: &str) -> ColumnScanner<'_> {
        let column = normalize(name);
        let managed_keyed = managed()
            .iter()
            .map(|m| m.keywords.iter().any(|k| contains_words(&column, k)))
            .collect();
        let custom_keyed = self
            .custom
            .iter()
            .map(|c| c.keywords.iter().any(|k| contains_words(&column, k)))
            .collect();
        ColumnScanner {
            scanner: self,
            managed_keyed,
            custom_keyed,
            letterless: OnceLock::new(),
        }
    }
}

impl ColumnScanner<'_> {
    /// The patterns that can fire in a value without letters, compiled on first need.
    fn letterless(&self) -> &PatternSubset {
        self.letterless.get_or_init(|| {
            let managed_can = managed()
                .iter()
                .zip(&self.managed_keyed)
                .map(|(m, &keyed)| !m.keyword_required || keyed);
            let custom_can = self
                .scanner
                .custom
                .iter()
                .zip(&self.custom_keyed)
                .map(|(c, &keyed)| c.keywords.is_empty() || keyed);
            self.scanner.subset(managed_can.chain(custom_can).collect())
        })
    }
}

impl ColumnScanner<'_> {
    /// Every sensitive match in `text`.
    pub fn scan(&self, text: &str) -> Vec<Match> {
        let mut out: Vec<Match> = Vec::new();
        // A value without letters holds no keyword: identifiers that need one and do not get it
        // from the column cannot match, so their patterns are not scanned for.
        let has_letters = text.bytes().any(|b| b.is_ascii_alphabetic());
        let (matches, position) = if has_letters {
            (self.scanner.set.matches(text), None)
        } else {
            let subset = self.letterless();
            (subset.set.matches(text), Some(&subset.position))
        };
        if !matches.matched_any() {
            return out;
        }
        let possible = |i: usize| match position {
            None => matches.matched(i),
            Some(position) => position[i].is_some_and(|k| matches.matched(k)),
        };
        let all = managed();
        // Identifiers whose keyword is present speak first: in a column named `bban`, a run of
        // digits that could also pass for a card number is the bank account it is said to be.
        let order = (0..all.len())
            .filter(|&i| all[i].keyword_required)
            .chain((0..all.len()).filter(|&i| !all[i].keyword_required));
        for i in order.filter(|&i| possible(i)) {
            let m = &all[i];
            for found in m.pattern.find_iter(text) {
                let s = found.as_str();
                if !(m.validator)(s) || self.scanner.allow.allows(s) {
                    continue;
                }
                if m.keyword_required
                    && !self.managed_keyed[i]
                    && !keyword_before(text, found.start(), KEYWORD_DISTANCE, m.keywords)
                {
                    continue;
                }
                // One report per span: a card number is not also a bank account.
                if out
                    .iter()
                    .any(|o| o.start < found.end() && found.start() < o.end)
                {
                    continue;
                }
                out.push(Match {
                    identifier: m.id.clone(),
                    category: m.category,
                    start: found.start(),
                    end: found.end(),
                });
            }
        }
        for (j, c) in self.scanner.custom.iter().enumerate() {
            if !possible(all.len() + j) {
                continue;
            }
            for found in c.regex.find_iter(text) {
                let s = found.as_str();
                if c.ignore_words.iter().any(|w| s.contains(w.as_str()))
                    || self.scanner.allow.allows(s)
                {
                    continue;
                }
                let keyed = c.keywords.is_empty()
                    || self.custom_keyed[j]
                    || keyword_before(text, found.start(), c.maximum_match_distance, &c.keywords);
                if keyed {
                    out.push(Match {
                        identifier: c.name.clone(),
                        category: Category::CustomIdentifier,
                        start: found.start(),
                        end: found.end(),
                    });
                }
            }
        }
        out
    }
}

/// Every sensitive match in `text`, which came from `column` (a column name or JSON path; empty
/// for free text). Compiles the detectors for this one call: scanning many values, use `Scanner`.
pub fn scan(
    text: &str,
    column: &str,
    custom: &[CustomIdentifier],
    allow: &AllowList,
) -> Vec<Match> {
    Scanner::new(custom.to_vec(), allow.clone())
        .column(column)
        .scan(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str, column: &str) -> Vec<String> {
        scan(text, column, &[], &AllowList::default())
            .into_iter()
            .map(|m| m.identifier.to_string())
            .collect()
    }

    #[test]
    fn names_normalise() {
        assert_eq!(normalize("card_security_code"), "card security code");
        assert_eq!(normalize("cardSecurityCode"), "card security code");
        assert_eq!(normalize("$.customer.credit-card"), "customer credit card");
    }

    #[test]
    fn managed_identifiers_find_what_they_should() {
        assert_eq!(
            ids("pay with 4111 1111 1111 1111 today", ""),
            ["CREDIT_CARD_NUMBER"]
        );
        assert_eq!(
            ids("123", "credit_card_security_code"),
            ["CREDIT_CARD_SECURITY_CODE"]
        );
        assert_eq!(ids("CVV: 123", ""), ["CREDIT_CARD_SECURITY_CODE"]);
        assert_eq!(
            ids("05/28", "credit_card_expire"),
            ["CREDIT_CARD_EXPIRATION"]
        );
        assert_eq!(
            ids("GB22NWBK04680428772419", "iban"),
            ["INTERNATIONAL_BANK_ACCOUNT_NUMBER"]
        );
        assert_eq!(ids("NWBK04680428772419", "bban"), ["BANK_ACCOUNT_NUMBER"]);
        assert_eq!(
            ids("my ssn is 536-22-1234", ""),
            ["USA_SOCIAL_SECURITY_NUMBER"]
        );
        assert_eq!(ids("ada.lovelace@example.com", "mail"), ["EMAIL_ADDRESS"]);
        assert_eq!(ids("+1-375-555-3690", ""), ["PHONE_NUMBER"]);
        assert_eq!(ids("from 10.2.33.4", ""), ["IP_ADDRESS"]);
        assert_eq!(ids("1961-03-12", "birthdate"), ["DATE_OF_BIRTH"]);
        assert_eq!(ids("Thomas Garcia", "name"), ["NAME"]);
        assert_eq!(ids("5629 Oak St, Denver, CO 80210", "address"), ["ADDRESS"]);
        assert_eq!(ids("AKIAIOSFODNN7EXAMPLE", ""), ["AWS_CREDENTIALS"]);
        assert_eq!(
            ids("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl", ""),
            ["OPENSSH_PRIVATE_KEY"]
        );
        assert_eq!(ids("C12345678", "passport_number"), ["USA_PASSPORT_NUMBER"]);
    }

    #[test]
    fn national_numbers_need_their_keyword_and_their_check() {
        for (text, column, id) in [
            ("AB 12 34 56 C", "NI number", "UK_NATIONAL_INSURANCE_NUMBER"),
            (
                "my national insurance number is JG103759A",
                "",
                "UK_NATIONAL_INSURANCE_NUMBER",
            ),
            ("130 692 544", "SIN", "CANADA_SOCIAL_INSURANCE_NUMBER"),
            (
                "T220001293",
                "Ausweisnummer",
                "GERMANY_NATIONAL_IDENTIFICATION_NUMBER",
            ),
            (
                "185057800608491",
                "Numéro de sécurité sociale",
                "FRANCE_NATIONAL_IDENTIFICATION_NUMBER",
            ),
            ("12345678Z", "DNI", "SPAIN_DNI_NUMBER"),
            ("NIE: X1234567L", "", "SPAIN_NIE_NUMBER"),
        ] {
            assert_eq!(ids(text, column), [id], "{text:?} in {column:?}");
            // The same value without a keyword is any number.
            let bare = text.rsplit(' ').next().unwrap();
            assert!(ids(bare, "c07").is_empty(), "{bare:?} without a keyword");
        }
        for (text, column) in [
            ("ZZ 12 34 56 T", "NI number"), // never allocated (Faker's placeholder)
            ("130 692 545", "SIN"),         // Luhn fails
            ("T220001294", "Ausweisnummer"), // wrong check digit
            ("185057800608492", "NIR"),     // wrong key
            ("12345678A", "DNI"),           // wrong letter
            ("X1234567A", "NIE"),           // wrong letter
        ] {
            assert!(ids(text, column).is_empty(), "{text:?} in {column:?}");
        }
    }

    #[test]
    fn phones_and_addresses_of_other_countries() {
        for phone in [
            "+44 (0)113 496 0123",
            "(0113) 496 0123",
            "+49 (0) 1234 567890",
            "01234 567890",
            "+33 1 30 12 34 56",
            "01 30 12 34 56",
            "+34 912 345 678",
            "1 (416) 555-0123",
        ] {
            assert_eq!(ids(phone, ""), ["PHONE_NUMBER"], "{phone:?}");
        }
        for address in [
            "Flat 12A\nJames Alley\nNorth Jamesmouth\nSW1A 2AB",
            "7 Smith Lane, Lake Sarah, LS1 4AP",
            "Hans-Müller-Straße 12/3\n01067 Dresden",
            "Müllerstr. 5\n10115 Berlin",
            "12, rue de la Paix\n75002 Paris",
            "Calle de Alcalá 42\nMadrid, 28014",
            "Urbanización María López 7 Piso 3 \nCádiz, 11001",
            "123 Main Street Suite 4\nToronto, ON M5V 2T6",
        ] {
            assert_eq!(ids(address, ""), ["ADDRESS"], "{address:?}");
        }
        assert_eq!(ids("José García Pérez", "nombre"), ["NAME"]);
        assert_eq!(ids("Jürgen Müller", "Name"), ["NAME"]);
    }

    #[test]
    fn look_alikes_do_not_match() {
        for (text, column) in [
            ("order 1234567812345670 shipped", ""), // an order id that passes Luhn
            ("tracking 9400111202555842761023", ""), // a tracking number
            ("price 473.63", "price"),
            ("2026-11-02T11:54:00Z", "ts"), // a timestamp
            ("version 1.2.3", ""),
            ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1"),
            ("SKU-88213-XL", "sku"),
            ("5551234567", "order_id"),
            ("386", "quantity"),
            ("Pharmacist", "job"),
            ("thomasgar54", "username"),
            ("SW1A 2AB", "postcode"),
            ("01067", "plz"),
            ("01067 Dresden", "ort"),
            ("75002 Paris", "ville"),
            ("12.345,67 €", "betrag"),
            ("1 234,56 €", "montant"),
            ("03.12.2026", "datum"),
            ("03/12/2026", "fecha"),
            ("0130123456", "ref"), // a bare run of digits, even with a trunk 0
            ("00 12 34 56 78", ""),
            ("B1234567X", "cif"),
            ("DE123456789", "ust id"),
            ("130 692 544", "order_id"),
        ] {
            assert!(
                ids(text, column).is_empty(),
                "{text:?} in {column:?} matched {:?}",
                ids(text, column)
            );
        }
    }

    #[test]
    fn the_seed_custom_identifier_and_allow_lists() {
        let xyz = CustomIdentifier::new(
            "account_number",
            r"(XYZ-)\d{1,2}",
            &["account_number".into()],
            &["000000".into()],
            20,
        )
        .unwrap();
        let found = |text: &str, column: &str, allow: &AllowList| {
            scan(text, column, std::slice::from_ref(&xyz), allow)
                .into_iter()
                .filter(|m| m.category == Category::CustomIdentifier)
                .count()
        };
        assert_eq!(found("XYZ-39", "account_number", &AllowList::default()), 1);
        assert_eq!(found("account_number: XYZ-7", "", &AllowList::default()), 1);
        assert_eq!(
            found("XYZ-7 far from any keyword", "notes", &AllowList::default()),
            0
        );
        assert_eq!(
            found(
                "account_number ................................. XYZ-7",
                "",
                &AllowList::default()
            ),
            0,
            "beyond the distance"
        );
        let allow = AllowList {
            words: vec!["XYZ-7".into()],
            patterns: vec![],
        };
        assert_eq!(found("XYZ-7", "account_number", &allow), 0);
        let allow = AllowList {
            words: vec![],
            patterns: vec![Regex::new(r"XYZ-\d").unwrap()],
        };
        assert_eq!(found("XYZ-7", "account_number", &allow), 0);
        assert_eq!(
            found("XYZ-71", "account_number", &allow),
            1,
            "the pattern must cover the whole match"
        );
    }
}
