//! Macie's managed data identifiers: each with its pattern, the validator a candidate must pass,
//! the keywords that raise or enable it, and its category. The ones for particular countries
//! beyond the US are in `managed_countries.rs`.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::Category;
use super::validate;

pub(super) struct Managed {
    pub id: Arc<str>,
    pub category: Category,
    pub pattern: Regex,
    pub validator: fn(&str) -> bool,
    pub keywords: &'static [&'static str],
    pub keyword_required: bool,
}

pub(super) fn any(_: &str) -> bool {
    true
}

fn has_digit(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
}

/// One managed identifier. ASCII classes and word boundaries: what these identifiers look for is
/// mostly ASCII, and the Unicode forms cost several times as much per value; a pattern that needs
/// letters beyond ASCII (names, streets) asks for them in a `(?u:...)` group of its own.
pub(super) fn managed_entry(
    id: &'static str,
    category: Category,
    pattern: &str,
    validator: fn(&str) -> bool,
    keywords: &'static [&'static str],
    keyword_required: bool,
) -> Managed {
    Managed {
        id: Arc::from(id),
        category,
        pattern: Regex::new(&format!("(?-u){pattern}")).expect("managed patterns compile"),
        validator,
        keywords,
        keyword_required,
    }
}

pub(super) fn managed() -> &'static [Managed] {
    static ALL: LazyLock<Vec<Managed>> = LazyLock::new(|| {
        let m = managed_entry;
        use Category::*;
        vec![
            m(
                "CREDIT_CARD_NUMBER",
                Financial,
                r"\b\d(?:[ -]?\d){12,18}\b",
                validate::card_number,
                &["card", "credit", "visa", "mastercard", "amex", "cc"],
                false,
            ),
            m(
                "CREDIT_CARD_EXPIRATION",
                Financial,
                r"\b(?:0[1-9]|1[0-2]) ?/ ?(?:\d{4}|\d{2})\b",
                any,
                &[
                    "exp",
                    "expiration",
                    "expiry",
                    "expire",
                    "expires",
                    "valid thru",
                ],
                true,
            ),
            m(
                "CREDIT_CARD_SECURITY_CODE",
                Financial,
                r"\b\d{3,4}\b",
                any,
                &[
                    "cvv",
                    "cvv2",
                    "cvc",
                    "cvc2",
                    "security code",
                    "card verification",
                    "csc",
                ],
                true,
            ),
            m(
                "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
                Financial,
                r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b",
                validate::iban,
                &[],
                false,
            ),
            m(
                "BANK_ACCOUNT_NUMBER",
                Financial,
                r"\b[A-Z0-9]{8,30}\b",
                has_digit,
                &[
                    "bban",
                    "account number",
                    "account no",
                    "acct",
                    "bank account",
                    "routing",
                    "checking",
                    "savings",
                ],
                true,
            ),
            m(
                "USA_SOCIAL_SECURITY_NUMBER",
                Personal,
                r"\b\d{3}-\d{2}-\d{4}\b",
                validate::ssn,
                &["ssn", "social security"],
                false,
            ),
            m(
                "USA_SOCIAL_SECURITY_NUMBER",
                Personal,
                r"\b\d{9}\b",
                validate::ssn,
                &["ssn", "social security"],
                true,
            ),
            m(
                "USA_PASSPORT_NUMBER",
                Personal,
                r"\b[A-Z]?\d{8,9}\b",
                any,
                &["passport"],
                true,
            ),
            m(
                "DRIVERS_LICENSE",
                Personal,
                r"\b[A-Z0-9]{5,15}\b",
                has_digit,
                &[
                    "driver",
                    "drivers license",
                    "driving licence",
                    "license number",
                    "dl number",
                    "dln",
                ],
                true,
            ),
            m(
                "EMAIL_ADDRESS",
                Personal,
                r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
                any,
                &[],
                false,
            ),
            m(
                "PHONE_NUMBER",
                Personal,
                r"(?:\+\d{1,3}[ -.]?)?\(?\b\d{3}\)?[ -.]?\d{3}[ -.]\d{4}\b",
                validate::phone,
                &["phone", "tel", "telephone", "mobile", "cell", "fax"],
                false,
            ),
            m(
                "IP_ADDRESS",
                Personal,
                r"\b\d{1,3}(?:\.\d{1,3}){3}\b",
                validate::ipv4,
                &[],
                false,
            ),
            m(
                "DATE_OF_BIRTH",
                Personal,
                r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})\b",
                validate::birth_date,
                &["birth", "dob", "born", "birthdate", "birthday"],
                true,
            ),
            m(
                "NAME",
                Personal,
                // Letters beyond ASCII (Jürgen Müller, José García), so no word boundary after.
                r"\b(?u:\p{Lu}\p{Ll}+)(?:[ '-](?u:\p{Lu}\p{Ll}+)){1,3}",
                any,
                &[
                    "name",
                    "full name",
                    "first name",
                    "last name",
                    "holder",
                    "customer",
                    "nom",
                    "prénom",
                    "prenom",
                    "nombre",
                    "apellido",
                    "apellidos",
                    "vorname",
                    "nachname",
                ],
                true,
            ),
            m(
                "ADDRESS",
                Personal,
                r"\b\d{1,6} [A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)* (?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Ln|Lane|Dr|Drive|Way|Ct|Court|Pl|Place|Terrace|Pkwy)\b",
                any,
                &[],
                false,
            ),
            m(
                "AWS_CREDENTIALS",
                Credentials,
                r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
                any,
                &[],
                false,
            ),
            m(
                "AWS_CREDENTIALS",
                Credentials,
                r"\b[A-Za-z0-9/+=]{40}\b",
                validate::aws_secret,
                &[
                    "aws_secret_access_key",
                    "secret access key",
                    "secret key",
                    "aws secret",
                ],
                true,
            ),
            m(
                "OPENSSH_PRIVATE_KEY",
                Credentials,
                r"-----BEGIN OPENSSH PRIVATE KEY-----",
                any,
                &[],
                false,
            ),
        ]
        .into_iter()
        .chain(super::managed_countries::countries())
        .collect()
    });
    &ALL
}
