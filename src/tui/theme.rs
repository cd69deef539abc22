//! Colours and styles in one place. The palette can be set in `config.toml`'s `[theme]` table
//! (as k9s and gitui let people match their terminal); a colour left out keeps its default.

use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};
use serde::{Deserialize, Deserializer};

/// The console's colours: names (`cyan`, `light-red`), indices (`0`–`255`) or `#RRGGBB`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Palette {
    /// Titles, keys in hints, the selected tab.
    #[serde(deserialize_with = "color")]
    pub accent: Color,
    /// Succeeded runs, enabled keys, low severity.
    #[serde(deserialize_with = "color")]
    pub ok: Color,
    /// Running work, disabled keys, medium severity, READ-ONLY.
    #[serde(deserialize_with = "color")]
    pub warn: Color,
    /// Failures, keys pending deletion, high severity, destructive confirmations.
    #[serde(deserialize_with = "color")]
    pub bad: Color,
    /// Secondary text.
    #[serde(deserialize_with = "color")]
    pub dim: Color,
    /// The background of the selected row.
    #[serde(deserialize_with = "color")]
    pub selected: Color,
}

impl Default for Palette {
    fn default() -> Palette {
        Palette {
            accent: Color::Cyan,
            ok: Color::Green,
            warn: Color::Yellow,
            bad: Color::Red,
            dim: Color::DarkGray,
            selected: Color::Rgb(40, 60, 90),
        }
    }
}

fn color<'de, D: Deserializer<'de>>(d: D) -> Result<Color, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "{text:?} is not a colour: use a name (cyan, light-red), an index (0-255) or #RRGGBB"
        ))
    })
}

static PALETTE: OnceLock<Palette> = OnceLock::new();

/// Sets the palette for this process; the first call wins (the console starts once).
pub fn use_palette(palette: Palette) {
    let _ = PALETTE.set(palette);
}

fn palette() -> &'static Palette {
    PALETTE.get_or_init(Palette::default)
}

pub fn accent() -> Color {
    palette().accent
}
pub fn ok() -> Color {
    palette().ok
}
pub fn warn() -> Color {
    palette().warn
}
pub fn bad() -> Color {
    palette().bad
}

pub fn title() -> Style {
    Style::new().fg(accent()).add_modifier(Modifier::BOLD)
}
pub fn selected() -> Style {
    Style::new()
        .bg(palette().selected)
        .add_modifier(Modifier::BOLD)
}
pub fn header() -> Style {
    Style::new()
        .fg(Color::White)
        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}
pub fn key() -> Style {
    Style::new().fg(accent()).add_modifier(Modifier::BOLD)
}
pub fn dim() -> Style {
    Style::new().fg(palette().dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_by_name_index_and_hex_and_bad_ones_are_named() {
        let p: Palette =
            toml::from_str("accent = \"magenta\"\nok = \"#00ff00\"\nwarn = \"214\"\n").unwrap();
        assert_eq!(p.accent, Color::Magenta);
        assert_eq!(p.ok, Color::Rgb(0, 255, 0));
        assert_eq!(p.warn, Color::Indexed(214));
        assert_eq!(p.bad, Palette::default().bad);
        let e = toml::from_str::<Palette>("bad = \"blood\"\n").unwrap_err();
        assert!(e.to_string().contains("\"blood\" is not a colour"), "{e}");
        assert!(toml::from_str::<Palette>("accnet = \"red\"\n").is_err());
    }
}
