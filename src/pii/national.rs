//! Checks for the national identifiers of the countries beyond the US (UK, Canada, Germany,
//! France, Spain): each number's own check digit, letter or key, and the ranges its issuer never
//! allocates. They are what keep a nine-digit order id from passing for a SIN, or eight digits and
//! a letter for a DNI. Each takes the candidate as the pattern found it (spaces or dashes between
//! groups allowed) and answers whether it is a number the issuer could have given.

/// The candidate without the separators people write between groups.
fn compact(candidate: &str) -> Vec<u8> {
    candidate
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'-' | b'.' | b'/'))
        .map(|b| b.to_ascii_uppercase())
        .collect()
}

fn is_digits(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit)
}

/// The Luhn check over every digit of `digits` (the last being the check digit), for numbers of
/// any length (`validate::luhn` is for cards, twelve digits or more).
fn luhn_holds(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let v = u32::from(b - b'0');
            if i % 2 == 1 {
                if v * 2 > 9 { v * 2 - 9 } else { v * 2 }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A UK National Insurance number (NINO): two prefix letters HMRC allocates, six digits, and a
/// suffix A to D. HMRC never uses D, F, I, Q, U or V in the prefix, nor O as its second letter,
/// nor the prefixes BG, GB, KN, NK, NT, TN and ZZ (the last is what test data such as Faker's
/// `en_GB` ssn() uses, precisely because it can never be a real person's).
pub fn uk_national_insurance(candidate: &str) -> bool {
    let s = compact(candidate);
    let [first, second, rest @ ..] = s.as_slice() else {
        return false;
    };
    let [digits @ .., suffix] = rest else {
        return false;
    };
    const NEVER: &[u8] = b"DFIQUV";
    const PREFIXES_NEVER_ALLOCATED: &[&[u8; 2]] =
        &[b"BG", b"GB", b"KN", b"NK", b"NT", b"TN", b"ZZ"];
    first.is_ascii_uppercase()
        && second.is_ascii_uppercase()
        && !NEVER.contains(first)
        && !NEVER.contains(second)
        && *second != b'O'
        && !PREFIXES_NEVER_ALLOCATED.contains(&&[*first, *second])
        && digits.len() == 6
        && is_digits(digits)
        && (b'A'..=b'D').contains(suffix)
}

/// A Canadian Social Insurance Number: nine digits with a valid Luhn check digit. A first digit
/// of 0 is never issued and 8 is for business numbers, not people.
pub fn canada_sin(candidate: &str) -> bool {
    let s = compact(candidate);
    s.len() == 9 && is_digits(&s) && !matches!(s[0], b'0' | b'8') && luhn_holds(&s)
}

/// The characters of a German identity card (Personalausweis) serial number: digits and the
/// consonants that cannot be mistaken for one another.
const GERMAN_ID_ALPHABET: &[u8] = b"0123456789CFGHJKLMNPRTVWXYZ";

/// A German identity card number (since November 2010): nine characters from the card's
/// alphabet, the first a letter, and the ICAO 9303 check digit (weights 7, 3, 1; letters count
/// as 10 to 35).
pub fn germany_national_id(candidate: &str) -> bool {
    let s = compact(candidate);
    let [serial @ .., check] = s.as_slice() else {
        return false;
    };
    if serial.len() != 9
        || !serial.iter().all(|b| GERMAN_ID_ALPHABET.contains(b))
        || !serial[0].is_ascii_uppercase()
        || !check.is_ascii_digit()
    {
        return false;
    }
    u32::from(check - b'0') == icao_check_digit(serial)
}

/// ICAO 9303's check digit over `chars` (digits, and letters A = 10 to Z = 35).
pub fn icao_check_digit(chars: &[u8]) -> u32 {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let value = if c.is_ascii_digit() {
                u32::from(c - b'0')
            } else {
                u32::from(c - b'A') + 10
            };
            value * WEIGHTS[i % 3]
        })
        .sum::<u32>()
        % 10
}

/// A French NIR (numéro de sécurité sociale, the INSEE number): sex, year, month, département
/// (2A and 2B for Corsica), commune, order number and the key, 97 minus the first thirteen
/// digits modulo 97 (Corsica's 2A and 2B counting as 19 and 18).
pub fn france_nir(candidate: &str) -> bool {
    let s = compact(candidate);
    if s.len() != 15 {
        return false;
    }
    let (body, key) = s.split_at(13);
    let department = &body[5..7];
    let corsica = match department {
        b"2A" => Some(b"19"),
        b"2B" => Some(b"18"),
        _ => None,
    };
    let mut number = body.to_vec();
    if let Some(code) = corsica {
        number[5..7].copy_from_slice(code);
    }
    if !is_digits(&number) || !is_digits(key) {
        return false;
    }
    let digit_pair = |b: &[u8]| u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    // 1 and 2 for people born in France or abroad, 3 and 4 for some born before 1946 abroad,
    // 7 and 8 for temporary numbers.
    let sex_ok = matches!(body[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8');
    // Months 20 to 42 and 50 to 99 stand for an unknown month.
    let month = digit_pair(&body[3..5]);
    let month_ok = (1..=12).contains(&month) || (20..=42).contains(&month) || month >= 50;
    let order_ok = &body[10..13] != b"000";
    let remainder = number
        .iter()
        .fold(0u64, |r, b| (r * 10 + u64::from(b - b'0')) % 97);
    sex_ok && month_ok && order_ok && u64::from(digit_pair(key)) == 97 - remainder
}

/// The control letters of Spain's DNI and NIE: the number modulo 23 picks one.
const SPAIN_CONTROL: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

fn spain_control_holds(number: &[u8], letter: u8) -> bool {
    if !is_digits(number) {
        return false;
    }
    let n = number
        .iter()
        .fold(0u64, |r, b| r * 10 + u64::from(b - b'0'));
    SPAIN_CONTROL[(n % 23) as usize] == letter
}

/// A Spanish DNI: eight digits and the control letter they call for.
pub fn spain_dni(candidate: &str) -> bool {
    let s = compact(candidate);
    s.len() == 9 && spain_control_holds(&s[..8], s[8])
}

/// A Spanish NIE (foreigners' identity number): X, Y or Z (counting as 0, 1 and 2), seven
/// digits and the control letter.
pub fn spain_nie(candidate: &str) -> bool {
    let mut s = compact(candidate);
    if s.len() != 9 {
        return false;
    }
    s[0] = match s[0] {
        b'X' => b'0',
        b'Y' => b'1',
        b'Z' => b'2',
        _ => return false,
    };
    spain_control_holds(&s[..8], s[8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninos_follow_hmrcs_allocation_rules() {
        assert!(!uk_national_insurance("QQ 12 34 56 C"), "Q is never used");
        assert!(uk_national_insurance("AB 12 34 56 C"));
        assert!(uk_national_insurance("JG103759A"));
        assert!(uk_national_insurance("ce-12-34-56-d"));
        for bad in [
            "ZZ 12 34 56 T", // Faker's en_GB: the prefix and suffix HMRC never allocates
            "ZZ123456A",
            "GB123456A",
            "AO123456A",
            "DA123456A",
            "AB123456E",
            "AB12345A",
            "AB1234567A",
        ] {
            assert!(!uk_national_insurance(bad), "{bad}");
        }
    }

    #[test]
    fn sins_need_luhn_and_an_issued_first_digit() {
        assert!(!canada_sin("046 454 286"), "a first 0 is never issued");
        assert!(canada_sin("130 692 544"));
        assert!(canada_sin("130-692-544"));
        assert!(!canada_sin("130 692 545"), "Luhn fails");
        assert!(!canada_sin("830 692 547"), "8 is for business numbers");
        assert!(!canada_sin("13069254"));
    }

    #[test]
    fn german_id_numbers_carry_the_icao_check_digit() {
        // The specimen card's number, T22000129 with check digit 3.
        assert!(germany_national_id("T220001293"));
        assert!(germany_national_id("L01X00T471"));
        assert!(!germany_national_id("L01X00T472"), "wrong check digit");
        assert!(!germany_national_id("101X00T471"), "the first is a letter");
        assert!(
            !germany_national_id("LA1X00T471"),
            "A is not in the alphabet"
        );
    }

    #[test]
    fn nirs_carry_their_mod_97_key() {
        assert!(france_nir("1 85 05 78 006 084 91"));
        assert!(france_nir("185057800608491"));
        assert!(!france_nir("185057800608492"), "wrong key");
        assert!(!france_nir("585057800608491"), "no such sex digit");
        assert!(!france_nir("185057800600078"), "order number 000");
        // Corsica: 2A counts as 19 for the key.
        let body = "269092A004123";
        let n: u64 = body.replace("2A", "19").parse().unwrap();
        let nir = format!("{body}{:02}", 97 - n % 97);
        assert!(france_nir(&nir), "{nir}");
    }

    #[test]
    fn dni_and_nie_letters_are_the_number_modulo_23() {
        assert!(spain_dni("12345678Z"));
        assert!(spain_dni("12345678-Z"));
        assert!(!spain_dni("12345678A"));
        assert!(spain_nie("X1234567L"));
        assert!(spain_nie("Y1234567X"));
        assert!(!spain_nie("X1234567A"));
        assert!(!spain_nie("A1234567L"));
    }
}
