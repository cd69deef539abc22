//! Popups: help, errors, text, confirmations, forms, the command line and pickers. Each popup
//! handles its own keys and lists its own hints; what it produces goes back to the App as a
//! `Submit`, so popups never call a service themselves.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, List, ListItem, ListState, Paragraph, Wrap};
use tui_textarea::TextArea;

pub use super::form::{Field, Form, FormKind, single_line};
use super::jobs::Job;
use super::keymap;
use super::theme;

pub enum Popup {
    Help {
        readonly: bool,
        scroll: u16,
    },
    Error {
        title: String,
        message: String,
    },
    Text {
        title: String,
        body: String,
        scroll: u16,
    },
    Confirm {
        message: String,
        job: Job,
    },
    Form(Box<Form>),
    CommandLine {
        input: Box<TextArea<'static>>,
        history_at: Option<usize>,
    },
    Picker(Picker),
    /// A workflow run's graph, read again while the run is under way.
    Graph(Box<super::runs::workflows::RunGraph>),
    /// A secret's value; closing the popup wipes it.
    Secret(Box<super::secrets::SecretView>),
}

pub enum Outcome {
    Stay,
    Close,
    Submit(Submit),
}

pub enum Submit {
    Confirmed(Job),
    Form(Form),
    Command(String),
    Picked(PickerKind, String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PickerKind {
    Principal,
}

pub struct Picker {
    pub kind: PickerKind,
    pub title: String,
    pub options: Vec<String>,
    pub state: ListState,
}

impl Popup {
    pub fn form(form: Form) -> Popup {
        Popup::Form(Box::new(form))
    }

    /// Handles a key; returns the popup to keep showing (None closes it) and what it produced.
    pub fn handle(self, ev: KeyEvent, history: &[String]) -> (Option<Popup>, Outcome) {
        match self {
            Popup::Help { readonly, scroll } => match ev.code {
                KeyCode::Down | KeyCode::Char('j') => (
                    Some(Popup::Help {
                        readonly,
                        scroll: scroll + 1,
                    }),
                    Outcome::Stay,
                ),
                KeyCode::Up | KeyCode::Char('k') => (
                    Some(Popup::Help {
                        readonly,
                        scroll: scroll.saturating_sub(1),
                    }),
                    Outcome::Stay,
                ),
                _ => (None, Outcome::Close),
            },
            Popup::Error { .. } => match ev.code {
                KeyCode::Enter | KeyCode::Esc | KeyCode::Char('q') => (None, Outcome::Close),
                _ => (Some(self), Outcome::Stay),
            },
            Popup::Text {
                title,
                body,
                scroll,
            } => {
                let scroll = match ev.code {
                    KeyCode::Down | KeyCode::Char('j') => scroll + 1,
                    KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                    KeyCode::PageDown => scroll + 10,
                    KeyCode::PageUp => scroll.saturating_sub(10),
                    _ => return (None, Outcome::Close),
                };
                (
                    Some(Popup::Text {
                        title,
                        body,
                        scroll,
                    }),
                    Outcome::Stay,
                )
            }
            Popup::Confirm { message, job } => match ev.code {
                KeyCode::Char('y') | KeyCode::Enter => {
                    (None, Outcome::Submit(Submit::Confirmed(job)))
                }
                KeyCode::Char('n') | KeyCode::Esc => (None, Outcome::Close),
                _ => (Some(Popup::Confirm { message, job }), Outcome::Stay),
            },
            Popup::Form(form) => form.handle(ev),
            Popup::Graph(graph) => graph.handle(ev),
            Popup::Secret(secret) => secret.handle(ev),
            Popup::CommandLine {
                mut input,
                history_at,
            } => match ev.code {
                KeyCode::Esc => (None, Outcome::Close),
                KeyCode::Enter => {
                    let line = input.lines().join(" ").trim().to_string();
                    if line.is_empty() {
                        (None, Outcome::Close)
                    } else {
                        (None, Outcome::Submit(Submit::Command(line)))
                    }
                }
                KeyCode::Up | KeyCode::Down if !history.is_empty() => {
                    let at = match (ev.code, history_at) {
                        (KeyCode::Up, None) => history.len() - 1,
                        (KeyCode::Up, Some(i)) => i.saturating_sub(1),
                        (_, None) => {
                            return (
                                Some(Popup::CommandLine { input, history_at }),
                                Outcome::Stay,
                            );
                        }
                        (_, Some(i)) => (i + 1).min(history.len() - 1),
                    };
                    (
                        Some(Popup::CommandLine {
                            input: single_line(&history[at]),
                            history_at: Some(at),
                        }),
                        Outcome::Stay,
                    )
                }
                _ => {
                    if !(ev.code == KeyCode::Char('m')
                        && ev.modifiers.contains(KeyModifiers::CONTROL))
                    {
                        input.input(ev);
                    }
                    (
                        Some(Popup::CommandLine { input, history_at }),
                        Outcome::Stay,
                    )
                }
            },
            Popup::Picker(mut p) => {
                let n = p.options.len();
                let at = p.state.selected().unwrap_or(0);
                match ev.code {
                    KeyCode::Esc => return (None, Outcome::Close),
                    KeyCode::Enter => {
                        return match p.options.get(at) {
                            Some(choice) => (
                                None,
                                Outcome::Submit(Submit::Picked(p.kind.clone(), choice.clone())),
                            ),
                            None => (None, Outcome::Close),
                        };
                    }
                    KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                        p.state.select(Some((at + 1) % n))
                    }
                    KeyCode::Up | KeyCode::Char('k') if n > 0 => {
                        p.state.select(Some((at + n - 1) % n))
                    }
                    _ => {}
                }
                (Some(Popup::Picker(p)), Outcome::Stay)
            }
        }
    }

    pub fn hints(&self) -> Vec<(String, &'static str)> {
        let list: &[(&str, &str)] = match self {
            Popup::Help { .. } | Popup::Text { .. } => keymap::TEXT_HINTS,
            Popup::Error { .. } => &[("enter/esc", "close")],
            Popup::Confirm { .. } => keymap::CONFIRM_HINTS,
            Popup::Form(_) => keymap::FORM_HINTS,
            Popup::CommandLine { .. } => keymap::LINE_HINTS,
            Popup::Picker(_) => keymap::PICKER_HINTS,
            Popup::Graph(_) => super::runs::workflows::RunGraph::hints(),
            Popup::Secret(_) => super::secrets::SecretView::hints(),
        };
        list.iter().map(|(k, h)| (k.to_string(), *h)).collect()
    }

    pub fn render(&mut self, f: &mut Frame, area: Rect) {
        match self {
            Popup::Help { readonly, scroll } => {
                let mut lines = Vec::new();
                for (scope, rows) in keymap::help(*readonly) {
                    if rows.is_empty() {
                        continue;
                    }
                    lines.push(Line::styled(scope.title(), theme::title()));
                    for (keys, hint) in rows {
                        lines.push(Line::from(vec![
                            Span::styled(format!("  {keys:<14}"), theme::key()),
                            Span::raw(hint),
                        ]));
                    }
                    lines.push(Line::raw(""));
                }
                if *readonly {
                    lines.push(Line::styled(
                        "Read-only console: actions that change the lake are left out.",
                        theme::dim(),
                    ));
                }
                text_box(f, area, " Help ", lines, *scroll, 60, 80);
            }
            Popup::Error { title, message } => {
                let mut lines: Vec<Line> =
                    message.lines().map(|l| Line::raw(l.to_string())).collect();
                lines.extend([
                    Line::raw(""),
                    Line::styled("enter or esc closes", theme::dim()),
                ]);
                let r = centered(area, 76, wrapped_height(&lines, 74) + 2);
                f.render_widget(Clear, r);
                let block = Block::bordered()
                    .border_type(BorderType::Rounded)
                    .title(format!(" {title} "))
                    .border_style(Style::new().fg(theme::bad()))
                    .title_style(Style::new().fg(theme::bad()).bold());
                f.render_widget(
                    Paragraph::new(lines)
                        .wrap(Wrap { trim: false })
                        .block(block),
                    r,
                );
            }
            Popup::Text {
                title,
                body,
                scroll,
            } => {
                let lines = body.lines().map(|l| Line::raw(l.to_string())).collect();
                text_box(f, area, &format!(" {title} "), lines, *scroll, 90, 85);
            }
            Popup::Confirm { message, .. } => {
                let mut lines: Vec<Line> =
                    message.lines().map(|l| Line::raw(l.to_string())).collect();
                lines.extend([
                    Line::raw(""),
                    Line::from(vec![
                        Span::styled("y", theme::key()),
                        Span::raw(" confirm    "),
                        Span::styled("n", theme::key()),
                        Span::raw(" cancel"),
                    ]),
                ]);
                let r = centered(area, 76, wrapped_height(&lines, 74) + 2);
                f.render_widget(Clear, r);
                let block = Block::bordered()
                    .border_type(BorderType::Rounded)
                    .title(" Confirm ")
                    .border_style(Style::new().fg(theme::warn()));
                f.render_widget(
                    Paragraph::new(lines)
                        .wrap(Wrap { trim: false })
                        .block(block),
                    r,
                );
            }
            Popup::Form(form) => super::form::render(f, area, form),
            Popup::Graph(graph) => graph.render(f, area),
            Popup::Secret(secret) => secret.render(f, area),
            Popup::CommandLine { input, .. } => {
                let r = Rect {
                    x: area.x,
                    y: area.bottom().saturating_sub(3),
                    width: area.width,
                    height: 3.min(area.height),
                };
                f.render_widget(Clear, r);
                input.set_block(
                    Block::bordered()
                        .border_type(BorderType::Rounded)
                        .title(" : command (as in lakectl, without `lakectl`; on AWS also `profile NAME`, `region NAME`) "),
                );
                f.render_widget(&**input, r);
            }
            Popup::Picker(p) => {
                let r = centered(
                    area,
                    50,
                    (p.options.len() as u16 + 2)
                        .min(area.height.saturating_sub(4))
                        .max(3),
                );
                f.render_widget(Clear, r);
                let items: Vec<ListItem> =
                    p.options.iter().map(|o| ListItem::new(o.clone())).collect();
                let list = List::new(items)
                    .block(
                        Block::bordered()
                            .border_type(BorderType::Rounded)
                            .title(format!(" {} ", p.title)),
                    )
                    .highlight_style(theme::selected())
                    .highlight_symbol("› ");
                f.render_stateful_widget(list, r, &mut p.state);
            }
        }
    }
}

pub(super) fn text_box(
    f: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
    scroll: u16,
    w_pct: u16,
    h_pct: u16,
) {
    let r = Rect {
        width: area.width * w_pct / 100,
        height: area.height * h_pct / 100,
        x: area.x + area.width * (100 - w_pct) / 200,
        y: area.y + area.height * (100 - h_pct) / 200,
    };
    f.render_widget(Clear, r);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(title.to_string())
        .title_style(theme::title());
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(block),
        r,
    );
}

/// Rows `lines` take when wrapped at `width` columns.
fn wrapped_height(lines: &[Line], width: usize) -> u16 {
    lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(width) as u16)
        .sum()
}

/// A rectangle of `width` × `height` in the middle of `area`, never larger than it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
