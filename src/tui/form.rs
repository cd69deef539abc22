//! Forms: the fields a popup asks for (text, a choice, ticks), their keys and how they are
//! drawn. A submitted form goes back to the App, which turns it into a confirmed job.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use tui_textarea::TextArea;

use super::popup::{Outcome, Popup, Submit, centered};
use super::theme;

/// What a form is for; the App turns a submitted form into a confirmed job.
#[derive(Debug, Clone, PartialEq)]
pub enum FormKind {
    CreateBucket,
    Upload {
        bucket: String,
        prefix: String,
    },
    Download {
        bucket: String,
        key: String,
    },
    CreateKey,
    ScheduleDeletion {
        key_id: String,
    },
    KeyUsers {
        key_id: String,
    },
    GrantStart,
    GrantDetails {
        principal: String,
        database: String,
        table: String,
        what: String,
    },
    Explain,
    Classify,
    MaskFromFinding {
        classification: String,
        bucket: String,
    },
}

pub enum Field {
    Text {
        label: &'static str,
        input: Box<TextArea<'static>>,
    },
    Choice {
        label: &'static str,
        options: Vec<String>,
        selected: usize,
    },
    Checks {
        label: &'static str,
        options: Vec<String>,
        ticked: Vec<bool>,
        cursor: usize,
    },
}

pub struct Form {
    pub kind: FormKind,
    pub title: String,
    pub fields: Vec<Field>,
    pub focus: usize,
}

/// A one-line text input (boxed: a TextArea is large, and popups move by value).
pub fn single_line(text: &str) -> Box<TextArea<'static>> {
    let mut t = TextArea::new(vec![text.to_string()]);
    t.set_cursor_line_style(Style::default());
    t.move_cursor(tui_textarea::CursorMove::End);
    Box::new(t)
}

impl Field {
    pub fn text(label: &'static str, value: &str) -> Field {
        Field::Text {
            label,
            input: single_line(value),
        }
    }

    /// A text field's value, a choice's option, or the ticked options joined by commas.
    pub fn value(&self) -> String {
        match self {
            Field::Text { input, .. } => input.lines().join("").trim().to_string(),
            Field::Choice {
                options, selected, ..
            } => options.get(*selected).cloned().unwrap_or_default(),
            Field::Checks {
                options, ticked, ..
            } => options
                .iter()
                .zip(ticked)
                .filter(|(_, t)| **t)
                .map(|(o, _)| o.as_str())
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

impl Form {
    pub fn new(kind: FormKind, title: impl Into<String>, fields: Vec<Field>) -> Self {
        Form {
            kind,
            title: title.into(),
            fields,
            focus: 0,
        }
    }

    pub fn value(&self, i: usize) -> String {
        self.fields.get(i).map(Field::value).unwrap_or_default()
    }

    pub(super) fn handle(mut self, ev: KeyEvent) -> (Option<Popup>, Outcome) {
        let n = self.fields.len();
        match ev.code {
            KeyCode::Esc => return (None, Outcome::Close),
            KeyCode::Enter => return (None, Outcome::Submit(Submit::Form(self))),
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + n - 1) % n,
            _ => match &mut self.fields[self.focus] {
                Field::Text { input, .. } => {
                    input.input(ev);
                }
                Field::Choice {
                    options, selected, ..
                } => match ev.code {
                    KeyCode::Left => {
                        *selected = (*selected + options.len() - 1) % options.len().max(1)
                    }
                    KeyCode::Right | KeyCode::Char(' ') => {
                        *selected = (*selected + 1) % options.len().max(1)
                    }
                    _ => {}
                },
                Field::Checks {
                    options,
                    ticked,
                    cursor,
                    ..
                } => match ev.code {
                    KeyCode::Left => *cursor = (*cursor + options.len() - 1) % options.len().max(1),
                    KeyCode::Right => *cursor = (*cursor + 1) % options.len().max(1),
                    KeyCode::Char(' ') => {
                        if let Some(t) = ticked.get_mut(*cursor) {
                            *t = !*t;
                        }
                    }
                    _ => {}
                },
            },
        }
        (Some(Popup::Form(Box::new(self))), Outcome::Stay)
    }
}

pub(super) fn render(f: &mut Frame, area: Rect, form: &mut Form) {
    let height = form.fields.iter().map(|_| 3u16).sum::<u16>() + 2;
    let r = centered(area, 90, height);
    f.render_widget(Clear, r);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(format!(" {} ", form.title))
        .title_style(theme::title());
    let inner = block.inner(r);
    f.render_widget(block, r);
    let rows = Layout::vertical(form.fields.iter().map(|_| Constraint::Length(3))).split(inner);
    for (i, (field, row)) in form.fields.iter_mut().zip(rows.iter()).enumerate() {
        let focused = i == form.focus;
        let border = if focused {
            Style::new().fg(theme::accent())
        } else {
            theme::dim()
        };
        match field {
            Field::Text { label, input } => {
                input.set_block(Block::bordered().title(*label).border_style(border));
                input.set_cursor_style(if focused {
                    Style::new().reversed()
                } else {
                    Style::default()
                });
                f.render_widget(&**input, *row);
            }
            Field::Choice {
                label,
                options,
                selected,
            } => {
                let text = options.get(*selected).cloned().unwrap_or_default();
                let line = Line::from(vec![
                    Span::raw("‹ "),
                    Span::styled(text, theme::key()),
                    Span::raw(" ›"),
                ]);
                f.render_widget(
                    Paragraph::new(line)
                        .block(Block::bordered().title(*label).border_style(border)),
                    *row,
                );
            }
            Field::Checks {
                label,
                options,
                ticked,
                cursor,
            } => {
                let spans: Vec<Span> = options
                    .iter()
                    .zip(ticked.iter())
                    .enumerate()
                    .flat_map(|(j, (o, t))| {
                        let mark = if *t { "[x] " } else { "[ ] " };
                        let style = if focused && j == *cursor {
                            theme::selected()
                        } else {
                            Style::default()
                        };
                        [Span::styled(format!("{mark}{o}"), style), Span::raw("  ")]
                    })
                    .collect();
                f.render_widget(
                    Paragraph::new(Line::from(spans))
                        .block(Block::bordered().title(*label).border_style(border)),
                    *row,
                );
            }
        }
    }
}
