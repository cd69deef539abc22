//! Checks a candidate must pass beyond its shape: checksums and the ranges issuers use. These are
//! what keep order ids, tracking numbers and prices from being reported as cards or accounts.

/// Only the digits of `s`.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

pub fn luhn(number: &str) -> bool {
    let d = digits(number);
    if d.len() < 12 {
        return false;
    }
    let sum: u32 = d
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let v = (b - b'0') as u32;
            if i % 2 == 1 {
                if v * 2 > 9 { v * 2 - 9 } else { v * 2 }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card number: an issuer's prefix and length, and a valid Luhn check digit.
pub fn card_number(candidate: &str) -> bool {
    let d = digits(candidate);
    let n = d.len();
    let prefix = |len: usize| {
        d.get(..len)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let issuer = match d.as_bytes().first() {
        Some(b'4') => [13, 16, 19].contains(&n), // Visa
        Some(b'5') => (51..=55).contains(&prefix(2)) && n == 16, // Mastercard
        Some(b'2') => (2221..=2720).contains(&prefix(4)) && n == 16, // Mastercard 2-series
        Some(b'3') => {
            ([34, 37].contains(&prefix(2)) && n == 15)                                     // American Express
                || (((300..=305).contains(&prefix(3)) || [36, 38].contains(&prefix(2))) && n == 14) // Diners
                || ((3528..=3589).contains(&prefix(4)) && (16..=19).contains(&n)) // JCB
        }
        Some(b'6') => {
            (prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)))
                && (16..=19).contains(&n) // Discover
        }
        _ => false,
    };
    issuer && luhn(&d)
}

/// IBAN lengths by country (the SWIFT registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// An IBAN: the country's length and the ISO 7064 mod-97 check.
pub fn iban(candidate: &str) -> bool {
    let s: String = candidate
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| s.starts_with(c)) else {
        return false;
    };
    if s.len() != len || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let rearranged = format!("{}{}", &s[4..], &s[..4]);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).expect("alphanumeric");
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A US social security number outside the ranges the SSA never issues.
pub fn ssn(candidate: &str) -> bool {
    let d = digits(candidate);
    if d.len() != 9 {
        return false;
    }
    let area: u32 = d[..3].parse().unwrap_or(0);
    let group: u32 = d[3..5].parse().unwrap_or(0);
    let serial: u32 = d[5..].parse().unwrap_or(0);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && d != "123456789"
}

pub fn ipv4(candidate: &str) -> bool {
    let parts: Vec<&str> = candidate.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
                && !(p.len() > 1 && p.starts_with('0'))
        })
}

/// A phone number has separators or a country code; bare runs of digits are ids. One written
/// with a national trunk 0 (0113 496 0123, 01 30 12 34 56) has 10 to 12 digits and a real area
/// code after the 0.
pub fn phone(candidate: &str) -> bool {
    let d = digits(candidate);
    let n = d.len();
    if candidate.starts_with('+') {
        return (10..=15).contains(&n);
    }
    if !candidate.chars().any(|c| " -.()".contains(c)) {
        return false;
    }
    match d.as_bytes() {
        [b'0', area, ..] => (10..=12).contains(&n) && *area != b'0',
        _ => (10..=15).contains(&n),
    }
}

/// A secret access key is base64-like with mixed case; an all-hex string of the same length is a hash.
pub fn aws_secret(candidate: &str) -> bool {
    let hex = candidate.chars().all(|c| c.is_ascii_hexdigit());
    let upper = candidate.chars().any(|c| c.is_ascii_uppercase());
    let lower = candidate.chars().any(|c| c.is_ascii_lowercase());
    !hex && upper && lower
}

/// A plausible calendar date of birth: a real month and day, a year in the last 130 years.
pub fn birth_date(candidate: &str) -> bool {
    let parts: Vec<u32> = candidate
        .split(['-', '/', '.'])
        .filter_map(|p| p.parse().ok())
        .collect();
    let (y, m, d) = match parts.as_slice() {
        [y, m, d] if *y > 1000 => (*y, *m, *d),
        [m, d, y] => (if *y < 100 { 1900 + *y } else { *y }, *m, *d),
        _ => return false,
    };
    (1895..=2026).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_need_an_issuer_and_luhn() {
        assert!(card_number("4111 1111 1111 1111"));
        assert!(card_number("5500-0055-5555-5559"));
        assert!(card_number("340749650968747"));
        assert!(!card_number("4111111111111112"), "Luhn fails");
        assert!(!card_number("9111111111111111"), "no issuer starts with 9");
        assert!(
            !card_number("1234567812345670"),
            "an order id that passes Luhn but has no issuer"
        );
    }

    #[test]
    fn ibans_of_every_country_check_mod_97() {
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("DE89370400440532013000"));
        assert!(iban("FR1420041010050500013M02606"));
        assert!(!iban("GB82WEST12345698765433"), "wrong check");
        assert!(!iban("DE8937040044053201300"), "wrong length");
        assert!(!iban("ZZ82WEST12345698765432"), "no such country");
    }

    #[test]
    fn ssns_outside_the_ssa_ranges_are_not_ssns() {
        assert!(ssn("536-22-1234"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "536-00-1234",
            "536-22-0000",
            "123-45-6789",
        ] {
            assert!(!ssn(bad), "{bad}");
        }
    }

    #[test]
    fn look_alikes_fail_their_checks() {
        assert!(!ipv4("1.2.3"), "a version");
        assert!(!ipv4("256.1.1.1"));
        assert!(ipv4("192.168.10.4"));
        assert!(!phone("5551234567"), "a bare id");
        assert!(phone("+1-555-123-4567") && phone("(555) 123-4567"));
        assert!(phone("+44(0)113 496 0123") && phone("0113 496 0123") && phone("01 30 12 34 56"));
        assert!(!phone("01067 1234"), "a postcode and a number");
        assert!(!phone("00 12 34 56 78"), "no area code is 0");
        assert!(
            !aws_secret("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            "a SHA-1"
        );
        assert!(aws_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        assert!(!birth_date("2026-13-02") && birth_date("1961-03-12") && birth_date("03/12/1961"));
    }
}
