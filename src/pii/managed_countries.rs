//! Macie's managed identifiers for the countries beyond the US that lakectl can check precisely:
//! the UK, Canada, Germany, France and Spain's national numbers (each with its check digit, key or
//! letter, in `national.rs`), phone numbers in international and national trunk formats, and
//! those countries' postal addresses. Names, categories and keyword requirements follow Macie's
//! reference; the national numbers all need a keyword, as in Macie, so a column of them is found
//! under the names people give such columns (`NI number`, `SIN`, `DNI`, `Ausweisnummer`, ...).

use super::Category::Personal;
use super::managed::{Managed, any, managed_entry as m};
use super::{national, validate};

/// Capitalised words (ASCII), as street, town and city names are written in English.
const WORDS: &str = r"[A-Z][A-Za-z'.-]*(?: [A-Z][A-Za-z'.-]*)";

pub(super) fn countries() -> Vec<Managed> {
    vec![
        m(
            "UK_NATIONAL_INSURANCE_NUMBER",
            Personal,
            r"\b[A-Z]{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?[A-D]\b",
            national::uk_national_insurance,
            &[
                "national insurance",
                "nino",
                "ni number",
                "ni no",
                "nin",
                "insurance number",
                "insurance no",
            ],
            true,
        ),
        m(
            "CANADA_SOCIAL_INSURANCE_NUMBER",
            Personal,
            r"\b\d{3}[ -]?\d{3}[ -]?\d{3}\b",
            national::canada_sin,
            &[
                "sin",
                "social insurance",
                "assurance sociale",
                "numero d assurance sociale",
                "nas",
            ],
            true,
        ),
        m(
            "GERMANY_NATIONAL_IDENTIFICATION_NUMBER",
            Personal,
            r"\b[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}\d\b",
            national::germany_national_id,
            &[
                "ausweis",
                "personalausweis",
                "identity card",
                "id card",
                "identifikationsnummer",
                "national id",
            ],
            true,
        ),
        m(
            "FRANCE_NATIONAL_IDENTIFICATION_NUMBER",
            Personal,
            r"\b[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b",
            national::france_nir,
            &[
                "nir",
                "insee",
                "sécurité sociale",
                "securite sociale",
                "carte vitale",
                "numéro d identification",
                "numero d identification",
                "national id",
            ],
            true,
        ),
        m(
            "SPAIN_DNI_NUMBER",
            Personal,
            r"\b\d{8}[ -]?[A-Z]\b",
            national::spain_dni,
            &[
                "dni",
                "documento nacional de identidad",
                "documento nacional",
                "d n i",
                "national id",
            ],
            true,
        ),
        m(
            "SPAIN_NIE_NUMBER",
            Personal,
            r"\b[XYZ][ -]?\d{7}[ -]?[A-Z]\b",
            national::spain_nie,
            &[
                "nie",
                "identidad de extranjero",
                "número de identidad de extranjero",
                "numero de identidad de extranjero",
                "n i e",
            ],
            true,
        ),
        // International format: +44 (0)113 496 0123, +49 (0) 1234 567890, +33 1 30 12 34 56,
        // +34 912 345 678.
        m(
            "PHONE_NUMBER",
            Personal,
            r"\+\d{1,3} ?(?:\(0\) ?)?\(?\d{1,5}\)?(?:[ .-]?\d{1,5}){1,5}\b",
            validate::phone,
            &["phone", "tel", "telephone", "mobile", "cell", "fax"],
            false,
        ),
        // National trunk format: 0113 496 0123, (01632) 960 123, 01234 567890, 01 30 12 34 56.
        m(
            "PHONE_NUMBER",
            Personal,
            r"\(?\b0\d{1,4}\)? ?\d{2,4}(?:[ .-]?\d{2,4}){0,4}\b",
            validate::phone,
            &["phone", "tel", "telephone", "mobile", "cell", "fax"],
            false,
        ),
        // UK: a street line (a number, or a flat), up to two more lines, and a postcode.
        m(
            "ADDRESS",
            Personal,
            &format!(
                r"(?:\b(?:Flat|Studio|Apartment|Unit) \d{{1,4}}[A-Za-z]?,?\s+|\b\d{{1,4}}[A-Za-z]? ){WORDS}{{0,4}},?\s+(?:{WORDS}{{0,3}},?\s+){{0,2}}[A-Z]{{1,2}}\d[A-Z\d]? ?\d[A-Z]{{2}}\b"
            ),
            any,
            &[],
            false,
        ),
        // Canada: a street line, the city, the province and the postal code.
        m(
            "ADDRESS",
            Personal,
            &format!(
                r"\b\d{{1,5}} {WORDS}{{0,4}}(?: (?:Apt\.?|Suite|Unit) \d{{1,5}})?,?\s+{WORDS}{{0,3}},? (?:AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT) [A-Z]\d[A-Z] ?\d[A-Z]\d\b"
            ),
            any,
            &[],
            false,
        ),
        // Germany: street and house number, then the five-digit postcode and the town.
        m(
            "ADDRESS",
            Personal,
            r"(?u:\p{Lu}[\p{L}.'-]*)(?: (?u:[\p{L}.'-]+)){0,3} \d{1,4}[a-z]?(?:[/-]\d{1,4}[a-z]?)?,?\s+\d{5} (?u:\p{Lu})",
            any,
            &[],
            false,
        ),
        // France: the number and the kind of way, then the postcode and the town.
        m(
            "ADDRESS",
            Personal,
            r"(?:\b\d{1,4}(?: ?(?:bis|ter))?,? )?\b(?i:rue|chemin|avenue|boulevard|impasse|place|quai|route|cours|all(?u:[éÉ])e) (?u:[^\n,]+)(?:\n|, ?)\d{5} (?u:\p{Lu})",
            any,
            &[],
            false,
        ),
        // Spain: the kind of way, its name and number, then the postcode (before or after the town).
        m(
            "ADDRESS",
            Personal,
            r"\b(?:Calle|Avenida|Plaza|Paseo|Camino|Ronda|Pasaje|Rambla|Glorieta|Alameda|Acceso|Cuesta|Pasadizo|Vial?|Urbanizaci(?u:ó)n|Callej(?u:ó)n|Ca(?u:ñ)ada|C/|C\.) (?u:[^\n,\d]+) \d{1,4}\b(?u:[^\n,]*)(?:\n|, ?)(?u:[^\n,\d]*),? ?\d{5}\b",
            any,
            &[],
            false,
        ),
    ]
}
