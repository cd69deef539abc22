//! Labelled data sets for the countries beyond the US: the UK (en_GB), Germany (de_DE), France
//! (fr_FR), Spain (es_ES) and Canada (en_CA), each value written the way Faker's provider for that
//! locale writes it (the same formats, area codes, street and city shapes, and the same check-digit
//! algorithms for SINs, NIRs, DNIs, NIEs and IBANs), generated here with the `fake` crate's seeded
//! RNG and, where it has the locale, its names and cities. The `fake` crate has no en_GB, es_ES or
//! en_CA locale and Faker has no German identity card number, so those are written here from
//! Faker's formats and the card's specification. Beside each sensitive column stand the look-alikes
//! a table of that country holds: postcodes, amounts, dates, order numbers, company tax ids, and
//! the NINOs Faker makes with HMRC's never-allocated ZZ prefix.

use fake::Fake;
use fake::faker::address::de_de::CityName as GermanCity;
use fake::faker::name::de_de::Name as GermanName;
use fake::faker::name::en::{FirstName, LastName, Name};
use fake::faker::name::fr_fr::Name as FrenchName;
use fake::faker::name::fr_fr::{FirstName as FrenchFirstName, LastName as FrenchLastName};
use fake::rand::rngs::StdRng;
use fake::rand::{Rng, SeedableRng};

use super::dataset::Column;

/// Every locale's columns, `rows` rows each, the same cells on every run.
pub fn locales(rows: usize) -> Vec<(&'static str, Vec<Column>)> {
    let mut rng = StdRng::seed_from_u64(16);
    vec![
        ("en_GB", en_gb(rows, &mut rng)),
        ("de_DE", de_de(rows, &mut rng)),
        ("fr_FR", fr_fr(rows, &mut rng)),
        ("es_ES", es_es(rows, &mut rng)),
        ("en_CA", en_ca(rows, &mut rng)),
    ]
}

type Generate<'a> = &'a mut dyn FnMut(&mut StdRng) -> String;

fn col(
    rows: usize,
    rng: &mut StdRng,
    (name, header): (&'static str, &'static str),
    labels: &'static [&'static str],
    f: Generate,
) -> Column {
    Column {
        name,
        header,
        cells: (0..rows).map(|_| f(rng)).collect(),
        labels,
    }
}

fn pick<T: Copy>(r: &mut StdRng, items: &[T]) -> T {
    items[r.random_range(0..items.len())]
}

/// Faker's numerify: `#` a digit, `%` a digit from 1 to 9, `?` an upper-case letter.
fn numerify(format: &str, r: &mut StdRng) -> String {
    format
        .chars()
        .map(|c| match c {
            '#' => char::from(b'0' + r.random_range(0..10u8)),
            '%' => char::from(b'0' + r.random_range(1..10u8)),
            '?' => char::from(b'A' + r.random_range(0..26u8)),
            other => other,
        })
        .collect()
}

/// Faker's iban(): the country, 98 minus (BBAN, country, "00") modulo 97, and the BBAN.
fn iban(country: &str, bban: &str) -> String {
    let rem = format!("{bban}{country}00").chars().fold(0u32, |r, c| {
        let v = c.to_digit(36).expect("alphanumeric");
        if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        }
    });
    format!("{country}{:02}{bban}", 98 - rem)
}

const STREET_SUFFIXES: &[&str] = &[
    "Alley", "Avenue", "Bridge", "Brook", "Bypass", "Causeway", "Circle", "Common", "Corner",
    "Court", "Crescent", "Crossing", "Drive", "Falls", "Field", "Gardens", "Green", "Grove",
    "Heights", "Hill", "Lane", "Manor", "Meadow", "Mews", "Mill", "Park", "Parkway", "Place",
    "Road", "Row", "Square", "Street", "Terrace", "Trail", "View", "Walk", "Way", "Wells",
];
const CITY_PREFIXES: &[&str] = &["North", "East", "West", "South", "New", "Lake", "Port"];
const CITY_SUFFIXES: &[&str] = &[
    "town", "ton", "land", "ville", "berg", "burgh", "borough", "bury", "view", "port", "mouth",
    "stad", "chester", "fort", "haven", "side", "shire",
];

/// Faker's en city formats (en_GB and en_CA): "North Jamesmouth", "Lake Sarah", "Smithbury".
fn english_city(r: &mut StdRng) -> String {
    let first: String = FirstName().fake_with_rng(r);
    let last: String = LastName().fake_with_rng(r);
    match r.random_range(0..4) {
        0 => format!(
            "{} {first}{}",
            pick(r, CITY_PREFIXES),
            pick(r, CITY_SUFFIXES)
        ),
        1 => format!("{} {first}", pick(r, CITY_PREFIXES)),
        2 => format!("{first}{}", pick(r, CITY_SUFFIXES)),
        _ => format!("{last}{}", pick(r, CITY_SUFFIXES)),
    }
}

fn english_street(r: &mut StdRng) -> String {
    let who: String = if r.random_bool(0.5) {
        FirstName().fake_with_rng(r)
    } else {
        LastName().fake_with_rng(r)
    };
    format!("{who} {}", pick(r, STREET_SUFFIXES))
}

const UK_POSTAL_ZONES: &[&str] = &[
    "AB", "AL", "B", "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "CA", "CB", "CF", "CH", "CM",
    "CR", "CV", "DE", "DN", "E", "EC", "EH", "EX", "G", "GL", "GU", "HP", "IP", "KT", "L", "LE",
    "LS", "M", "ME", "N", "NE", "NG", "NW", "OX", "PL", "PO", "RG", "S", "SE", "SO", "SW", "W",
    "WC", "YO",
];

/// Faker's en_GB postcode formats (AN NEE, ANN NEE, ANC NEE, ...).
fn uk_postcode(r: &mut StdRng) -> String {
    const INWARD: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
    let zone = pick(r, UK_POSTAL_ZONES);
    let district = match r.random_range(0..3) {
        0 => r.random_range(1..10).to_string(),
        1 => r.random_range(10..100).to_string(),
        _ => format!(
            "{}{}",
            r.random_range(1..10),
            char::from(pick(r, b"ABEHMNPRVWXY"))
        ),
    };
    let inward: String = (0..2).map(|_| char::from(pick(r, INWARD))).collect();
    format!("{zone}{district} {}{inward}", r.random_range(0..10))
}

/// The national forms of Faker's en_GB phone numbers (Ofcom's drama numbers); each is written
/// in the twelve ways Faker writes them (with or without spaces, brackets, +44 or +44(0)).
const UK_NUMBERS: &[&str] = &[
    "0113 496 0###",
    "0114 496 0###",
    "0115 496 0###",
    "0116 496 0###",
    "0117 496 0###",
    "0118 496 0###",
    "0121 496 0###",
    "0131 496 0###",
    "0141 496 0###",
    "0151 496 0###",
    "0161 496 0###",
    "0191 498 0###",
    "020 7946 0###",
    "028 9018 0###",
    "029 2018 0###",
    "01632 960 ###",
    "0306 999 0###",
    "0808 157 0###",
    "0909 879 0###",
];

fn uk_phone(r: &mut StdRng) -> String {
    let number = numerify(pick(r, UK_NUMBERS), r);
    let (area, rest) = number.split_once(' ').expect("an area code");
    let spaced = rest.to_string();
    let compact = rest.replace(' ', "");
    let trunkless = &area[1..];
    match r.random_range(0..12) {
        0 => format!("{area} {spaced}"),
        1 => format!("{area} {compact}"),
        2 => format!("{area}{compact}"),
        3 => format!("({area}) {spaced}"),
        4 => format!("({area}) {compact}"),
        5 => format!("({area}){compact}"),
        6 => format!("+44{trunkless} {spaced}"),
        7 => format!("+44{trunkless} {compact}"),
        8 => format!("+44{trunkless}{compact}"),
        9 => format!("+44(0){trunkless} {spaced}"),
        10 => format!("+44(0){trunkless} {compact}"),
        _ => format!("+44(0){trunkless}{compact}"),
    }
}

/// A NINO in one of Faker's three styles, with a prefix and suffix HMRC allocates.
fn nino(r: &mut StdRng, prefix: &str, suffix: char) -> String {
    let d = numerify("######", r);
    match r.random_range(0..3) {
        0 => format!("{prefix} {} {} {} {suffix}", &d[..2], &d[2..4], &d[4..]),
        1 => format!("{prefix}{d}{suffix}"),
        _ => format!("{prefix} {d} {suffix}"),
    }
}

fn allocated_nino_prefix(r: &mut StdRng) -> String {
    const FIRST: &[u8] = b"ABCEGHJKLMNOPRSTWXYZ";
    const SECOND: &[u8] = b"ABCEGHJKLMNPRSTWXYZ";
    loop {
        let p: String = [pick(r, FIRST), pick(r, SECOND)]
            .iter()
            .map(|&b| char::from(b))
            .collect();
        if !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&p.as_str()) {
            return p;
        }
    }
}

fn en_gb(rows: usize, r: &mut StdRng) -> Vec<Column> {
    vec![
        col(rows, r, ("full_name", "Full name"), &["NAME"], &mut |r| {
            Name().fake_with_rng(r)
        }),
        col(
            rows,
            r,
            ("telephone", "Telephone"),
            &["PHONE_NUMBER"],
            &mut uk_phone,
        ),
        col(rows, r, ("address", "Address"), &["ADDRESS"], &mut |r| {
            let street = if r.random_bool(0.5) {
                format!(
                    "{} {}",
                    numerify(pick(r, &["#", "##", "###"]), r),
                    english_street(r)
                )
            } else {
                let flat = numerify(
                    pick(
                        r,
                        &[
                            "Flat #",
                            "Flat ##",
                            "Flat ##?",
                            "Studio #",
                            "Studio ##",
                            "Studio ##?",
                        ],
                    ),
                    r,
                );
                format!("{flat}\n{}", english_street(r))
            };
            format!("{street}\n{}\n{}", english_city(r), uk_postcode(r))
        }),
        col(
            rows,
            r,
            ("nino", "NI number"),
            &["UK_NATIONAL_INSURANCE_NUMBER"],
            &mut |r| {
                let prefix = allocated_nino_prefix(r);
                let suffix = pick(r, &['A', 'B', 'C', 'D']);
                nino(r, &prefix, suffix)
            },
        ),
        // Faker's en_GB ssn(): ZZ and T, which HMRC never allocates, so no person has them.
        col(rows, r, ("nino_placeholder", "NI number"), &[], &mut |r| {
            nino(r, "ZZ", 'T')
        }),
        col(
            rows,
            r,
            ("iban", "IBAN"),
            &["INTERNATIONAL_BANK_ACCOUNT_NUMBER"],
            &mut |r| iban("GB", &numerify("????##############", r)),
        ),
        col(rows, r, ("postcode", "Postcode"), &[], &mut uk_postcode),
        col(rows, r, ("order_ref", "Order ref"), &[], &mut |r| {
            numerify("%#######", r)
        }),
        col(rows, r, ("amount", "Amount"), &[], &mut |r| {
            format!(
                "£{},{:03}.{:02}",
                r.random_range(1..99),
                r.random_range(0..1000),
                r.random_range(0..100)
            )
        }),
        col(rows, r, ("order_date", "Order date"), &[], &mut |r| {
            format!(
                "{:02}/{:02}/2026",
                r.random_range(1..29),
                r.random_range(1..13)
            )
        }),
        col(
            rows,
            r,
            ("message", "Message"),
            &["PHONE_NUMBER"],
            &mut |r| {
                if r.random_bool(0.6) {
                    format!("Please ring me on {} about my order.", uk_phone(r))
                } else {
                    format!(
                        "Order {} was dispatched on {:02}/11/2026.",
                        numerify("%#####", r),
                        r.random_range(1..29)
                    )
                }
            },
        ),
    ]
}

/// Faker's de_DE phone formats.
const GERMAN_PHONES: &[&str] = &[
    "+49(0)##########",
    "+49(0)#### ######",
    "+49 (0) #### ######",
    "+49(0) #########",
    "+49(0)#### #####",
    "0##########",
    "0#########",
    "0#### ######",
    "0#### #####",
    "(0####) ######",
    "(0####) #####",
];

/// A German identity card number: a letter, eight characters of the card's alphabet, and the
/// ICAO check digit.
fn german_id(r: &mut StdRng) -> String {
    const LETTERS: &[u8] = b"CFGHJKLMNPRTVWXYZ";
    const ALPHABET: &[u8] = b"0123456789CFGHJKLMNPRTVWXYZ";
    let mut serial = vec![pick(r, LETTERS)];
    serial.extend((0..8).map(|_| pick(r, ALPHABET)));
    let check = lakectl::pii::national::icao_check_digit(&serial);
    format!("{}{check}", String::from_utf8(serial).expect("ASCII"))
}

fn de_de(rows: usize, r: &mut StdRng) -> Vec<Column> {
    vec![
        col(rows, r, ("name", "Name"), &["NAME"], &mut |r| {
            GermanName().fake_with_rng(r)
        }),
        col(
            rows,
            r,
            ("telefon", "Telefon"),
            &["PHONE_NUMBER"],
            &mut |r| numerify(pick(r, GERMAN_PHONES), r),
        ),
        // Faker's de_DE address: "{street} {number}\n{postcode} {city}".
        col(
            rows,
            r,
            ("anschrift", "Anschrift"),
            &["ADDRESS"],
            &mut |r| {
                let last: String = fake::faker::name::de_de::LastName().fake_with_rng(r);
                let street = if r.random_bool(0.5) {
                    let first: String = fake::faker::name::de_de::FirstName().fake_with_rng(r);
                    format!(
                        "{first}-{last}-{}",
                        pick(r, &["Gasse", "Platz", "Ring", "Straße", "Weg", "Allee"])
                    )
                } else {
                    format!(
                        "{last}{}",
                        pick(
                            r,
                            &["gasse", "platz", "ring", "straße", "str.", "weg", "allee"]
                        )
                    )
                };
                let number = numerify(
                    pick(
                        r,
                        &["#", "%#", "%##", "%###", "%/%", "%#/%#", "%-%", "%#-%#"],
                    ),
                    r,
                );
                let city: String = GermanCity().fake_with_rng(r);
                format!("{street} {number}\n{} {city}", numerify("#####", r))
            },
        ),
        col(
            rows,
            r,
            ("ausweisnummer", "Ausweisnummer"),
            &["GERMANY_NATIONAL_IDENTIFICATION_NUMBER"],
            &mut german_id,
        ),
        col(
            rows,
            r,
            ("iban", "IBAN"),
            &["INTERNATIONAL_BANK_ACCOUNT_NUMBER"],
            &mut |r| iban("DE", &numerify("##################", r)),
        ),
        col(rows, r, ("plz", "PLZ"), &[], &mut |r| numerify("#####", r)),
        col(rows, r, ("betrag", "Betrag"), &[], &mut |r| {
            format!(
                "{}.{:03},{:02} €",
                r.random_range(1..99),
                r.random_range(0..1000),
                r.random_range(0..100)
            )
        }),
        col(rows, r, ("bestelldatum", "Bestelldatum"), &[], &mut |r| {
            format!(
                "{:02}.{:02}.2026",
                r.random_range(1..29),
                r.random_range(1..13)
            )
        }),
        col(rows, r, ("bestellnummer", "Bestellnummer"), &[], &mut |r| {
            numerify("%#########", r)
        }),
        // Faker's de_DE vat_id(): DE and nine digits.
        col(rows, r, ("ust_id", "USt-IdNr"), &[], &mut |r| {
            numerify("DE%########", r)
        }),
        col(
            rows,
            r,
            ("nachricht", "Nachricht"),
            &["PHONE_NUMBER"],
            &mut |r| {
                if r.random_bool(0.6) {
                    format!(
                        "Bitte rufen Sie mich unter {} an.",
                        numerify(pick(r, GERMAN_PHONES), r)
                    )
                } else {
                    format!(
                        "Bestellung {} wurde am {:02}.11.2026 versandt.",
                        numerify("%#####", r),
                        r.random_range(1..29)
                    )
                }
            },
        ),
    ]
}

/// Faker's fr_FR area codes (landlines and mobiles), written as it writes them.
const FRENCH_AREAS: &[&str] = &[
    "130", "134", "139", "140", "141", "142", "143", "144", "145", "153", "160", "169", "214",
    "218", "221", "230", "240", "241", "250", "262", "299", "310", "320", "326", "344", "351",
    "380", "388", "411", "420", "442", "450", "467", "478", "491", "499", "508", "516", "531",
    "549", "556", "561", "590", "596", "60#", "61#", "62#", "630", "64#", "65#", "66#", "67#",
    "68#", "695", "699", "73#", "74#", "75#", "76#", "77#", "78#", "79#", "80#",
];

fn french_phone(r: &mut StdRng) -> String {
    let area = numerify(pick(r, FRENCH_AREAS), r);
    let separated = format!("{} {}", &area[..1], &area[1..]);
    match r.random_range(0..4) {
        0 => numerify(&format!("+33 (0){separated} ## ## ##"), r),
        1 => numerify(&format!("+33 {separated} ## ## ##"), r),
        2 => numerify(&format!("0{area}######"), r),
        _ => numerify(&format!("0{separated} ## ## ##"), r),
    }
}

/// Faker's fr_FR ssn(): sex, year, month, département and commune, order number, and the key.
fn nir(r: &mut StdRng) -> String {
    const PLACES: &[(&str, &str)] = &[
        ("01", "053"),
        ("13", "055"),
        ("2A", "004"),
        ("2B", "033"),
        ("33", "063"),
        ("59", "350"),
        ("69", "123"),
        ("75", "056"),
        ("971", "05"),
        ("974", "11"),
        ("31", "555"),
        ("44", "109"),
    ];
    let (department, commune) = pick(r, PLACES);
    let body = format!(
        "{}{:02}{:02}{department}{commune}{:03}",
        r.random_range(1..3),
        r.random_range(0..100),
        r.random_range(1..13),
        r.random_range(1..1000)
    );
    let n: u64 = body
        .replace("2A", "19")
        .replace("2B", "18")
        .parse()
        .expect("digits");
    format!("{body}{:02}", 97 - n % 97)
}

/// A SIRET (a French establishment's number): fourteen digits with a Luhn check.
fn siret(r: &mut StdRng) -> String {
    let mut digits: Vec<u32> = (0..13).map(|_| r.random_range(0..10)).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i.is_multiple_of(2) {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits.iter().map(|d| d.to_string()).collect()
}

fn fr_fr(rows: usize, r: &mut StdRng) -> Vec<Column> {
    vec![
        col(rows, r, ("nom", "Nom complet"), &["NAME"], &mut |r| {
            FrenchName().fake_with_rng(r)
        }),
        col(
            rows,
            r,
            ("telephone", "Téléphone"),
            &["PHONE_NUMBER"],
            &mut french_phone,
        ),
        // Faker's fr_FR address: "[number, ]{rue|chemin|avenue|boulevard} ...\n{postcode} {city}".
        col(rows, r, ("adresse", "Adresse"), &["ADDRESS"], &mut |r| {
            let last: String = FrenchLastName().fake_with_rng(r);
            let first: String = FrenchFirstName().fake_with_rng(r);
            let prefix = pick(r, &["rue", "rue", "chemin", "avenue", "boulevard"]);
            let street = match r.random_range(0..3) {
                0 => format!("{prefix} {last}"),
                1 => format!("{prefix} {first} {last}"),
                _ => format!("{prefix} de {last}"),
            };
            let street = if r.random_range(0..6) == 0 {
                street
            } else {
                format!("{}, {street}", numerify(pick(r, &["%", "%#", "%##"]), r))
            };
            let city: String = match r.random_range(0..4) {
                0 => format!("Saint-{first}"),
                1 => format!("{last}-sur-Mer"),
                2 => format!("{last}-les-Bains"),
                _ => FrenchLastName().fake_with_rng(r),
            };
            let department = pick(
                r,
                &["01", "13", "20", "31", "33", "44", "59", "69", "75", "971"],
            );
            let postcode = format!(
                "{department}{}",
                numerify(&"#".repeat(5 - department.len()), r)
            );
            format!("{street}\n{postcode} {city}")
        }),
        col(
            rows,
            r,
            ("nir", "Numéro de sécurité sociale"),
            &["FRANCE_NATIONAL_IDENTIFICATION_NUMBER"],
            &mut nir,
        ),
        col(
            rows,
            r,
            ("iban", "IBAN"),
            &["INTERNATIONAL_BANK_ACCOUNT_NUMBER"],
            &mut |r| iban("FR", &numerify("#######################", r)),
        ),
        col(rows, r, ("code_postal", "Code postal"), &[], &mut |r| {
            numerify("%####", r)
        }),
        col(rows, r, ("montant", "Montant"), &[], &mut |r| {
            format!(
                "{} {:03},{:02} €",
                r.random_range(1..99),
                r.random_range(0..1000),
                r.random_range(0..100)
            )
        }),
        col(
            rows,
            r,
            ("date_commande", "Date de commande"),
            &[],
            &mut |r| {
                format!(
                    "{:02}/{:02}/2026",
                    r.random_range(1..29),
                    r.random_range(1..13)
                )
            },
        ),
        col(rows, r, ("siret", "SIRET"), &[], &mut siret),
        col(
            rows,
            r,
            ("message", "Message"),
            &["PHONE_NUMBER"],
            &mut |r| {
                if r.random_bool(0.6) {
                    format!("Merci de me rappeler au {}.", french_phone(r))
                } else {
                    format!(
                        "Commande {} expédiée le {:02}/11/2026.",
                        numerify("%#####", r),
                        r.random_range(1..29)
                    )
                }
            },
        ),
    ]
}

const SPANISH_FIRST: &[&str] = &[
    "José",
    "María",
    "Álvaro",
    "Lucía",
    "Javier",
    "Carmen",
    "Sofía",
    "Iñigo",
    "Pilar",
    "Andrés",
    "Inés",
    "Raúl",
    "Begoña",
    "Jesús",
    "Ángela",
    "Martín",
    "Elena",
    "Adrián",
    "Rocío",
    "Pablo",
    "Nuria",
    "Óscar",
    "Marta",
    "Hugo",
    "Concepción",
];
const SPANISH_LAST: &[&str] = &[
    "García",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Alonso",
    "Gutiérrez",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
    "Gil",
    "Ramírez",
    "Serrano",
    "Blanco",
    "Molina",
    "Castillo",
    "Ortega",
    "Rubio",
    "Núñez",
];
/// Faker's es_ES street prefixes.
const SPANISH_WAYS: &[&str] = &[
    "Plaza",
    "Calle",
    "Avenida",
    "Via",
    "Vial",
    "Rambla",
    "Glorieta",
    "Urbanización",
    "Callejón",
    "Cañada",
    "Alameda",
    "Acceso",
    "C.",
    "Ronda",
    "Pasaje",
    "Cuesta",
    "Pasadizo",
    "Paseo",
    "Camino",
];
const SPANISH_PROVINCES: &[&str] = &[
    "Álava",
    "Albacete",
    "Alicante",
    "Almería",
    "Asturias",
    "Ávila",
    "Badajoz",
    "Barcelona",
    "Burgos",
    "Cáceres",
    "Cádiz",
    "Cantabria",
    "Castellón",
    "Ciudad",
    "Córdoba",
    "Cuenca",
    "Girona",
    "Granada",
    "Guadalajara",
    "Huelva",
    "Huesca",
    "Jaén",
    "León",
    "Lleida",
    "Lugo",
    "Madrid",
    "Málaga",
    "Murcia",
    "Navarra",
    "Ourense",
    "Palencia",
    "Pontevedra",
    "Salamanca",
    "Segovia",
    "Sevilla",
    "Soria",
    "Tarragona",
    "Teruel",
    "Toledo",
    "Valencia",
    "Valladolid",
    "Zamora",
    "Zaragoza",
];

fn spanish_name(r: &mut StdRng) -> String {
    format!(
        "{} {} {}",
        pick(r, SPANISH_FIRST),
        pick(r, SPANISH_LAST),
        pick(r, SPANISH_LAST)
    )
}

fn spanish_control(n: u64) -> char {
    char::from(b"TRWAGMYFPDXBNJZSQVHLCKE"[(n % 23) as usize])
}

/// Faker's es_ES phone formats: +34, a prefix, and the number grouped three ways.
fn spanish_phone(r: &mut StdRng) -> String {
    let prefix = numerify(
        pick(r, &["6##", "7##", "81#", "91#", "93#", "95#", "96#", "98#"]),
        r,
    );
    let format = pick(
        r,
        &[
            "+34 xxx ### ###",
            "+34 xxx######",
            "+34 xxx ## ## ##",
            "+34xxx ### ###",
            "+34xxx######",
            "+34xxx ## ## ##",
        ],
    );
    numerify(&format.replace("xxx", &prefix), r)
}

fn es_es(rows: usize, r: &mut StdRng) -> Vec<Column> {
    vec![
        col(rows, r, ("nombre", "Nombre"), &["NAME"], &mut spanish_name),
        col(
            rows,
            r,
            ("telefono", "Teléfono"),
            &["PHONE_NUMBER"],
            &mut spanish_phone,
        ),
        // Faker's es_ES address: "{way} [de ]{first} {last} {number}[ {flat} ]\n{province}, {postcode}".
        col(
            rows,
            r,
            ("direccion", "Dirección"),
            &["ADDRESS"],
            &mut |r| {
                let de = if r.random_bool(0.5) { "de " } else { "" };
                let number = numerify(pick(r, &["%", "%#", "%##"]), r);
                let flat = if r.random_bool(0.5) {
                    format!(
                        " {} ",
                        numerify(pick(r, &["Apt. ##", "Piso #", "Puerta #"]), r)
                    )
                } else {
                    String::new()
                };
                format!(
                    "{} {de}{} {} {number}{flat}\n{}, {:05}",
                    pick(r, SPANISH_WAYS),
                    pick(r, SPANISH_FIRST),
                    pick(r, SPANISH_LAST),
                    pick(r, SPANISH_PROVINCES),
                    r.random_range(1000..52100)
                )
            },
        ),
        // Faker's es_ES nif(): the DNI's eight digits and control letter.
        col(rows, r, ("dni", "DNI"), &["SPAIN_DNI_NUMBER"], &mut |r| {
            let n: u64 = r.random_range(0..100_000_000);
            format!("{n:08}{}", spanish_control(n))
        }),
        // Faker's es_ES nie(): X, Y or Z, seven digits and the control letter.
        col(rows, r, ("nie", "NIE"), &["SPAIN_NIE_NUMBER"], &mut |r| {
            let first = r.random_range(0..3u64);
            let body: u64 = r.random_range(0..10_000_000);
            format!(
                "{}{body:07}{}",
                ["X", "Y", "Z"][first as usize],
                spanish_control(first * 10_000_000 + body)
            )
        }),
        col(
            rows,
            r,
            ("iban", "IBAN"),
            &["INTERNATIONAL_BANK_ACCOUNT_NUMBER"],
            &mut |r| iban("ES", &numerify("####################", r)),
        ),
        col(
            rows,
            r,
            ("codigo_postal", "Código postal"),
            &[],
            &mut |r| format!("{:05}", r.random_range(1000..52100)),
        ),
        col(rows, r, ("importe", "Importe"), &[], &mut |r| {
            format!(
                "{}.{:03},{:02} €",
                r.random_range(1..99),
                r.random_range(0..1000),
                r.random_range(0..100)
            )
        }),
        col(rows, r, ("fecha", "Fecha del pedido"), &[], &mut |r| {
            format!(
                "{:02}/{:02}/2026",
                r.random_range(1..29),
                r.random_range(1..13)
            )
        }),
        // A company's tax id (Faker's cif()): a letter, seven digits and a control character.
        col(rows, r, ("cif", "CIF"), &[], &mut |r| {
            numerify(
                &format!(
                    "{}#######{}",
                    char::from(pick(r, b"ABCDEFGHJNPQRSUVW")),
                    pick(r, &["#", "?"])
                ),
                r,
            )
        }),
        col(
            rows,
            r,
            ("mensaje", "Mensaje"),
            &["PHONE_NUMBER"],
            &mut |r| {
                if r.random_bool(0.6) {
                    format!("Llámame al {}, por favor.", spanish_phone(r))
                } else {
                    format!(
                        "Pedido {} enviado el {:02}/11/2026.",
                        numerify("%#####", r),
                        r.random_range(1..29)
                    )
                }
            },
        ),
    ]
}

/// Faker's en_CA phone formats (`%` a digit from 1 to 9).
const CANADIAN_PHONES: &[&str] = &[
    "%##-###-####",
    "%##.###.####",
    "%## ### ####",
    "(%##) ###-####",
    "1-%##-###-####",
    "1 (%##) ###-####",
    "+1 (%##) ###-####",
    "%##-###-#### x###",
    "(%##) ###-#### x###",
];
const PROVINCES: &[&str] = &[
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

fn canadian_postcode(r: &mut StdRng) -> String {
    const LETTERS: &[u8] = b"ABCEGHJKLMNPRSTVXY";
    let mut l = || char::from(pick(r, LETTERS));
    let (a, b, c) = (l(), l(), l());
    let format = if r.random_bool(0.5) {
        "{a}%{b} %{c}%"
    } else {
        "{a}%{b}%{c}%"
    };
    numerify(
        &format
            .replace("{a}", &a.to_string())
            .replace("{b}", &b.to_string())
            .replace("{c}", &c.to_string()),
        r,
    )
}

/// Faker's en_CA ssn(): eight distinct digital roots from 0 to 8, the ninth making their sum a
/// multiple of ten, and every second one halved back (so the number passes Luhn), as "### ### ###".
fn canadian_sin(r: &mut StdRng) -> String {
    let mut roots: Vec<u32> = (0..9).collect();
    for i in 0..8 {
        let j = r.random_range(i..9);
        roots.swap(i, j);
    }
    roots.truncate(8);
    let check = (10 - roots.iter().sum::<u32>() % 10) % 10;
    roots.push(check);
    for d in roots.iter_mut().skip(1).step_by(2) {
        *d = if d.is_multiple_of(2) {
            *d / 2
        } else {
            (*d + 9) / 2
        };
    }
    let s: String = roots.iter().map(|d| d.to_string()).collect();
    format!("{} {} {}", &s[..3], &s[3..6], &s[6..])
}

fn en_ca(rows: usize, r: &mut StdRng) -> Vec<Column> {
    vec![
        col(rows, r, ("full_name", "Full name"), &["NAME"], &mut |r| {
            Name().fake_with_rng(r)
        }),
        col(rows, r, ("phone", "Phone"), &["PHONE_NUMBER"], &mut |r| {
            numerify(pick(r, CANADIAN_PHONES), r)
        }),
        // Faker's en_CA address: "{number} {street}[ Apt. ###| Suite ###]\n{city}, {province} {postal code}".
        col(rows, r, ("address", "Address"), &["ADDRESS"], &mut |r| {
            let number = numerify(pick(r, &["#####", "####", "###"]), r);
            let secondary = if r.random_bool(0.5) {
                format!(" {}", numerify(pick(r, &["Apt. ###", "Suite ###"]), r))
            } else {
                String::new()
            };
            format!(
                "{number} {}{secondary}\n{}, {} {}",
                english_street(r),
                english_city(r),
                pick(r, PROVINCES),
                canadian_postcode(r)
            )
        }),
        col(
            rows,
            r,
            ("sin", "SIN"),
            &["CANADA_SOCIAL_INSURANCE_NUMBER"],
            &mut canadian_sin,
        ),
        col(
            rows,
            r,
            ("postal_code", "Postal code"),
            &[],
            &mut canadian_postcode,
        ),
        col(rows, r, ("amount", "Amount"), &[], &mut |r| {
            format!(
                "${},{:03}.{:02}",
                r.random_range(1..99),
                r.random_range(0..1000),
                r.random_range(0..100)
            )
        }),
        col(rows, r, ("order_date", "Order date"), &[], &mut |r| {
            format!(
                "2026-{:02}-{:02}",
                r.random_range(1..13),
                r.random_range(1..29)
            )
        }),
        col(rows, r, ("order_id", "Order #"), &[], &mut |r| {
            numerify("%########", r)
        }),
        col(
            rows,
            r,
            ("message", "Message"),
            &["PHONE_NUMBER"],
            &mut |r| {
                if r.random_bool(0.6) {
                    format!(
                        "Call me at {} about order {}.",
                        numerify(pick(r, CANADIAN_PHONES), r),
                        numerify("%#####", r)
                    )
                } else {
                    format!(
                        "Order {} shipped on 2026-11-{:02}.",
                        numerify("%#####", r),
                        r.random_range(1..29)
                    )
                }
            },
        ),
    ]
}
