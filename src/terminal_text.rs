//! The one place where strings from data or from other principals (object keys, names, error
//! messages) meet a terminal. A terminal obeys control characters: ESC starts a sequence that
//! can recolour, move the cursor, retitle the window or (in some terminals) write files; bidi
//! overrides make text read differently from what it is. Everything printed or drawn passes
//! through here, so a key like `ESC[31m…ESC]0;pwned BEL` shows as what it is and does nothing.
//!
//! - `inert` makes a string safe to print: C0 controls and DEL become Unicode control pictures
//!   (`␛`), C1 controls and bidi controls become visible `\u{…}` escapes. A newline may be kept
//!   (multi-line messages), nothing else.
//! - `inert_buffer` does the same for a ratatui buffer before it is drawn, so no console widget
//!   can forget it.
//! - `InertJson` is a serde_json formatter that escapes DEL, C1 and bidi controls, which
//!   serde_json itself leaves raw (it escapes only C0).

use std::borrow::Cow;
use std::io;

/// Whether `c` would act on a terminal instead of being shown: C0 controls, DEL, C1 controls,
/// and the bidirectional formatting characters (embeddings, overrides, isolates, marks).
pub fn is_active(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The visible stand-in for an active character: a control picture for C0 and DEL (one column
/// wide), else a `\u{…}` escape.
fn stand_in(c: char, out: &mut String) {
    match c as u32 {
        n @ 0x00..=0x1F => out.push(char::from_u32(0x2400 + n).expect("control pictures")),
        0x7F => out.push('\u{2421}'),
        n => out.push_str(&format!("\\u{{{n:x}}}")),
    }
}

/// `text` with every active character shown instead of obeyed. With `keep_newlines`, `\n`
/// stays a line break (a multi-line message); a lone `\r` never does.
fn inert_with(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let active = |c: char| is_active(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(active) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if active(c) {
            stand_in(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of untrusted text, safe to print: a newline in it shows as `␊`.
pub fn inert(text: &str) -> Cow<'_, str> {
    inert_with(text, false)
}

/// Untrusted text that may span lines (an error message, a log): line breaks stay.
pub fn inert_lines(text: &str) -> Cow<'_, str> {
    inert_with(text, true)
}

/// Makes every cell of a console frame inert before it is drawn. ratatui puts a zero-width
/// character into the cell before it, so a cell may hold a visible symbol followed by controls:
/// those are dropped; a cell that holds only controls shows the first one's control picture.
pub fn inert_buffer(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        let symbol = cell.symbol();
        if !symbol.chars().any(is_active) {
            continue;
        }
        let kept: String = symbol.chars().filter(|c| !is_active(*c)).collect();
        let replacement = if kept.is_empty() {
            let first = symbol.chars().next().expect("a cell with an active char");
            match first as u32 {
                n @ 0x00..=0x1F => char::from_u32(0x2400 + n).expect("control pictures"),
                0x7F => '\u{2421}',
                _ => '\u{FFFD}',
            }
            .to_string()
        } else {
            kept
        };
        cell.set_symbol(&replacement);
    }
}

/// A serde_json formatter that also escapes what serde_json leaves raw: DEL, C1 controls and
/// bidi controls, as `\uXXXX` (still valid JSON, the same string once parsed).
pub struct InertJson<F>(pub F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for InertJson<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_active(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    // Everything else as the wrapped formatter does it.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` as JSON with the AWS CLI's 4-space indent, every string inert.
pub fn json_pretty(value: &serde_json::Value) -> String {
    let fmt = InertJson(serde_json::ser::PrettyFormatter::with_indent(b"    "));
    json_with(value, fmt)
}

/// `value` as one line of JSON, every string inert (error lines, headless records).
pub fn json_line(value: &serde_json::Value) -> String {
    json_with(value, InertJson(serde_json::ser::CompactFormatter))
}

fn json_with<F: serde_json::ser::Formatter>(value: &serde_json::Value, fmt: F) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(value, &mut ser).expect("JSON values serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\x1b[31mred\x1b]0;pwned\x07\u{9b}2J\u{202e}txt.exe\x7f";

    #[test]
    fn printed_text_carries_no_active_character() {
        let shown = inert(HOSTILE);
        assert!(!shown.chars().any(is_active), "{shown:?}");
        assert!(shown.contains("␛[31mred␛]0;pwned␇"), "{shown}");
        assert!(shown.contains("\\u{9b}") && shown.contains("\\u{202e}") && shown.ends_with('␡'));
        assert_eq!(inert("plain"), "plain");
        assert_eq!(inert("two\nlines"), "two␊lines");
        assert_eq!(inert_lines("two\nlines\r"), "two\nlines␍");
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw_and_reads_back_the_same() {
        let v = serde_json::json!({"Key": HOSTILE});
        for text in [json_pretty(&v), json_line(&v)] {
            assert!(!text.chars().any(|c| is_active(c) && c != '\n'), "{text:?}");
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, v);
        }
    }

    #[test]
    fn a_buffer_keeps_no_active_character() {
        use ratatui::buffer::Buffer;
        use ratatui::layout::Rect;
        use ratatui::text::Span;
        use ratatui::widgets::Widget;
        let mut buf = Buffer::empty(Rect::new(0, 0, 40, 1));
        Span::raw(HOSTILE).render(buf.area, &mut buf);
        inert_buffer(&mut buf);
        assert!(
            buf.content
                .iter()
                .all(|c| !c.symbol().chars().any(is_active))
        );
    }
}
