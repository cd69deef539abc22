//! Labels for the Findings pane's bar chart: a bar is a few cells wide, and Macie's type names
//! are long and share their first words (SPAIN_DNI_NUMBER, SPAIN_NIE_NUMBER; UK_NATIONAL_...), so
//! cutting a name at the bar's width would label two bars alike. Every word is shortened the same
//! amount instead, until the label fits, so each keeps a piece of every word that tells it apart.

/// `kind` (a managed identifier's type or a custom identifier's name) in at most `width` cells.
pub fn bar_label(kind: &str, width: usize) -> String {
    let lower = kind.to_lowercase();
    let mut words: Vec<&str> = lower
        .split(['_', ' ', '-'])
        .filter(|w| !w.is_empty())
        .collect();
    // "number" ends most of Macie's names and tells none apart.
    if words.len() > 1 && words.last() == Some(&"number") {
        words.pop();
    }
    let joined = words.join("_");
    if joined.chars().count() <= width {
        return joined;
    }
    let longest = words.iter().map(|w| w.chars().count()).max().unwrap_or(0);
    for keep in (1..longest).rev() {
        let short: Vec<String> = words
            .iter()
            .map(|w| w.chars().take(keep).collect())
            .collect();
        let label = short.join(".");
        if label.chars().count() <= width {
            return label;
        }
    }
    // Not even one letter a word fits: the first letters, cut.
    words
        .iter()
        .filter_map(|w| w.chars().next())
        .take(width)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::bar_label;

    #[test]
    fn labels_fit_and_stay_apart() {
        assert_eq!(bar_label("EMAIL_ADDRESS", 13), "email_address");
        assert_eq!(bar_label("SPAIN_DNI_NUMBER", 13), "spain_dni");
        let kinds = [
            "SPAIN_DNI_NUMBER",
            "SPAIN_NIE_NUMBER",
            "UK_NATIONAL_INSURANCE_NUMBER",
            "GERMANY_NATIONAL_IDENTIFICATION_NUMBER",
            "FRANCE_NATIONAL_IDENTIFICATION_NUMBER",
            "CANADA_SOCIAL_INSURANCE_NUMBER",
            "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
            "BANK_ACCOUNT_NUMBER",
            "CREDIT_CARD_NUMBER",
            "CREDIT_CARD_EXPIRATION",
        ];
        for width in [5, 6, 9, 13] {
            let labels: Vec<String> = kinds.iter().map(|k| bar_label(k, width)).collect();
            for (kind, label) in kinds.iter().zip(&labels) {
                assert!(label.chars().count() <= width, "{kind} at {width}: {label}");
            }
            let distinct: std::collections::BTreeSet<&String> = labels.iter().collect();
            assert_eq!(distinct.len(), kinds.len(), "at {width}: {labels:?}");
        }
        assert_eq!(bar_label("account_number", 3), "acc");
    }
}
