//! The one key map. Dispatch, the hint bar and the `?` help all read this table, so what the
//! console says a key does is what it does. Bindings that change anything are marked; the
//! `--readonly` console drops them from all three at once.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where the focus is; bindings apply in their scope, global ones everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Buckets,
    Objects,
    Keys,
    /// The Keys pane showing the secrets sealed under the keys (`s` toggles).
    Secrets,
    Runs,
    /// The Runs pane showing one rule's recent deliveries and failures (`enter` on a rule).
    Deliveries,
    Findings,
    Grants,
    Query,
}

impl Scope {
    /// Every scope, in the order help lists them.
    pub const ALL: [Scope; 10] = [
        Scope::Global,
        Scope::Buckets,
        Scope::Objects,
        Scope::Keys,
        Scope::Secrets,
        Scope::Findings,
        Scope::Runs,
        Scope::Deliveries,
        Scope::Grants,
        Scope::Query,
    ];
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Buckets => "Buckets",
            Scope::Objects => "Objects of a bucket",
            Scope::Keys => "Keys",
            Scope::Secrets => "Secrets (in the Keys pane)",
            Scope::Runs => "Runs (jobs, crawlers, replication tasks, workflows, rules)",
            Scope::Deliveries => "A rule's deliveries (in the Runs pane)",
            Scope::Findings => "Findings",
            Scope::Grants => "Grants",
            Scope::Query => "Query",
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Quit,
    NextPane,
    PrevPane,
    Pane(usize),
    Up,
    Down,
    Open,
    Back,
    Help,
    CommandLine,
    Filter,
    SwitchPrincipal,
    Refresh,
    CancelTask,
    CreateBucket,
    DeleteBucket,
    Upload,
    Download,
    DeleteObject,
    ToggleFlat,
    CreateKey,
    RotateKey,
    ToggleKeyEnabled,
    ToggleRotation,
    ScheduleDeletion,
    CancelDeletion,
    EditKeyUsers,
    StartRun,
    StopRun,
    /// Deliver one failed delivery of a rule again.
    Replay,
    RunLog,
    Catalog,
    Reveal,
    /// The Keys pane: keys or the secrets beside them.
    ToggleSecrets,
    Classify,
    MaskFromFinding,
    NewGrant,
    Revoke,
    Explain,
    ToggleGrantView,
    EditQuery,
    RunQuery,
    HistoryBack,
    HistoryForward,
    ColumnsLeft,
    ColumnsRight,
}

#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}
const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

impl Key {
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "shift-tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            other => format!("{other:?}").to_lowercase(),
        };
        if self.ctrl {
            format!("ctrl-{base}")
        } else {
            base
        }
    }

    fn matches(&self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        ctrl == self.ctrl && self.code == ev.code
    }
}

pub struct Binding {
    pub keys: &'static [Key],
    pub intent: Intent,
    pub hint: &'static str,
    pub scope: Scope,
    /// Changes something in the lake: asks for confirmation, absent with --readonly.
    pub changes: bool,
    /// Shown in the hint bar (the rest only in `?` help).
    pub in_bar: bool,
}

const fn b(
    scope: Scope,
    keys: &'static [Key],
    intent: Intent,
    hint: &'static str,
    changes: bool,
    in_bar: bool,
) -> Binding {
    Binding {
        keys,
        intent,
        hint,
        scope,
        changes,
        in_bar,
    }
}

use Intent as I;
use Scope as S;

pub const BINDINGS: &[Binding] = &[
    b(S::Grants, &[ch('g')], I::NewGrant, "grant", true, true),
    b(S::Grants, &[ch('D')], I::Revoke, "revoke", true, true),
    b(S::Grants, &[ch('e')], I::Explain, "explain", false, true),
    b(
        S::Grants,
        &[ch('v')],
        I::ToggleGrantView,
        "by principal/resource",
        false,
        true,
    ),
    b(
        S::Query,
        &[ch('e'), code(KeyCode::Enter)],
        I::EditQuery,
        "edit SQL",
        false,
        true,
    ),
    b(
        S::Query,
        &[Key {
            code: KeyCode::Char('r'),
            ctrl: true,
        }],
        I::RunQuery,
        "run",
        false,
        true,
    ),
    b(
        S::Query,
        &[ch('[')],
        I::HistoryBack,
        "older query",
        false,
        true,
    ),
    b(
        S::Query,
        &[ch(']')],
        I::HistoryForward,
        "newer query",
        false,
        false,
    ),
    b(
        S::Query,
        &[ch('h'), code(KeyCode::Left)],
        I::ColumnsLeft,
        "columns left",
        false,
        false,
    ),
    b(
        S::Query,
        &[ch('l'), code(KeyCode::Right)],
        I::ColumnsRight,
        "columns right",
        false,
        false,
    ),
    b(
        S::Findings,
        &[ch('m')],
        I::MaskFromFinding,
        "mask what it found",
        true,
        true,
    ),
    b(
        S::Findings,
        &[code(KeyCode::Enter)],
        I::Open,
        "details",
        false,
        true,
    ),
    b(
        S::Findings,
        &[ch('v')],
        I::Reveal,
        "reveal values",
        false,
        true,
    ),
    b(
        S::Findings,
        &[ch('n')],
        I::Classify,
        "new classification job",
        true,
        true,
    ),
    b(
        S::Buckets,
        &[code(KeyCode::Enter)],
        I::Open,
        "open bucket",
        false,
        true,
    ),
    b(
        S::Buckets,
        &[ch('n')],
        I::CreateBucket,
        "new bucket",
        true,
        true,
    ),
    b(S::Buckets, &[ch('u')], I::Upload, "upload", true, true),
    b(
        S::Buckets,
        &[ch('D')],
        I::DeleteBucket,
        "delete bucket",
        true,
        true,
    ),
    b(S::Objects, &[ch('u')], I::Upload, "upload", true, true),
    b(S::Objects, &[ch('d')], I::Download, "download", false, true),
    b(
        S::Objects,
        &[ch('D')],
        I::DeleteObject,
        "delete",
        true,
        true,
    ),
    b(
        S::Objects,
        &[code(KeyCode::Enter)],
        I::Open,
        "open folder",
        false,
        true,
    ),
    b(
        S::Objects,
        &[ch('f')],
        I::ToggleFlat,
        "folders/flat",
        false,
        true,
    ),
    b(
        S::Objects,
        &[code(KeyCode::Esc), code(KeyCode::Backspace)],
        I::Back,
        "back",
        false,
        true,
    ),
    b(
        S::Keys,
        &[code(KeyCode::Enter)],
        I::Open,
        "details",
        false,
        true,
    ),
    b(S::Keys, &[ch('n')], I::CreateKey, "new key", true, true),
    b(
        S::Keys,
        &[ch('s')],
        I::ToggleSecrets,
        "secrets",
        false,
        true,
    ),
    b(
        S::Secrets,
        &[ch('s')],
        I::ToggleSecrets,
        "keys",
        false,
        true,
    ),
    b(
        S::Secrets,
        &[code(KeyCode::Enter)],
        I::Open,
        "details",
        false,
        true,
    ),
    b(
        S::Secrets,
        &[ch('v')],
        I::Reveal,
        "reveal value",
        false,
        true,
    ),
    b(
        S::Keys,
        &[ch('a')],
        I::EditKeyUsers,
        "who may use",
        true,
        true,
    ),
    b(S::Keys, &[ch('R')], I::RotateKey, "rotate now", true, true),
    b(
        S::Keys,
        &[ch('o')],
        I::ToggleRotation,
        "auto-rotation",
        true,
        true,
    ),
    b(
        S::Keys,
        &[ch('e')],
        I::ToggleKeyEnabled,
        "enable/disable",
        true,
        true,
    ),
    b(
        S::Keys,
        &[ch('D')],
        I::ScheduleDeletion,
        "schedule deletion",
        true,
        true,
    ),
    b(
        S::Keys,
        &[ch('c')],
        I::CancelDeletion,
        "cancel deletion",
        true,
        false,
    ),
    b(
        S::Runs,
        &[code(KeyCode::Enter)],
        I::Open,
        "run details",
        false,
        true,
    ),
    b(S::Runs, &[ch('s')], I::StartRun, "start", true, true),
    b(S::Runs, &[ch('S')], I::StopRun, "stop", true, true),
    b(
        S::Deliveries,
        &[ch('R')],
        I::Replay,
        "replay this failed delivery",
        true,
        true,
    ),
    b(
        S::Deliveries,
        &[code(KeyCode::Esc), code(KeyCode::Backspace)],
        I::Back,
        "back to the runs",
        false,
        true,
    ),
    b(S::Runs, &[ch('l')], I::RunLog, "log", false, true),
    b(S::Runs, &[ch('c')], I::Catalog, "catalog", false, true),
    b(
        S::Global,
        &[ch('1'), ch('2'), ch('3'), ch('4'), ch('5'), ch('6')],
        I::Pane(0),
        "go to pane",
        false,
        false,
    ),
    b(
        S::Global,
        &[code(KeyCode::Tab)],
        I::NextPane,
        "next pane",
        false,
        false,
    ),
    b(
        S::Global,
        &[code(KeyCode::BackTab)],
        I::PrevPane,
        "previous pane",
        false,
        false,
    ),
    b(
        S::Global,
        &[ch('j'), code(KeyCode::Down)],
        I::Down,
        "move down",
        false,
        false,
    ),
    b(
        S::Global,
        &[ch('k'), code(KeyCode::Up)],
        I::Up,
        "move up",
        false,
        false,
    ),
    b(S::Global, &[ch('/')], I::Filter, "filter", false, true),
    b(
        S::Global,
        &[ch(':')],
        I::CommandLine,
        "command",
        false,
        true,
    ),
    b(
        S::Global,
        &[ch('p')],
        I::SwitchPrincipal,
        "act as",
        false,
        true,
    ),
    b(S::Global, &[ch('r')], I::Refresh, "refresh", false, false),
    b(
        S::Global,
        &[ch('x')],
        I::CancelTask,
        "cancel transfer",
        false,
        false,
    ),
    b(S::Global, &[ch('?')], I::Help, "help", false, true),
    b(
        S::Global,
        &[
            ch('q'),
            Key {
                code: KeyCode::Char('c'),
                ctrl: true,
            },
        ],
        I::Quit,
        "quit",
        false,
        true,
    ),
];

/// The bindings in force in `scope` (its own first, then the global ones).
pub fn active(scope: Scope, readonly: bool) -> impl Iterator<Item = &'static Binding> {
    let own = BINDINGS.iter().filter(move |b| b.scope == scope);
    let global = BINDINGS
        .iter()
        .filter(move |b| b.scope == Scope::Global && scope != Scope::Global);
    own.chain(global).filter(move |b| !(readonly && b.changes))
}

pub fn lookup(scope: Scope, ev: &KeyEvent, readonly: bool) -> Option<Intent> {
    active(scope, readonly).find_map(|b| {
        let i = b.keys.iter().position(|k| k.matches(ev))?;
        Some(match b.intent {
            Intent::Pane(_) => Intent::Pane(i),
            other => other,
        })
    })
}

pub fn keys_label(binding: &Binding) -> String {
    match binding.intent {
        Intent::Pane(_) => "1-6".into(),
        _ => binding
            .keys
            .iter()
            .map(Key::label)
            .collect::<Vec<_>>()
            .join("/"),
    }
}

/// The hint bar for `scope`.
pub fn hints(scope: Scope, readonly: bool) -> Vec<(String, &'static str)> {
    active(scope, readonly)
        .filter(|b| b.in_bar)
        .map(|b| (keys_label(b), b.hint))
        .collect()
}

/// The `?` help: every binding, by scope.
pub fn help(readonly: bool) -> Vec<(Scope, Vec<(String, &'static str)>)> {
    Scope::ALL
        .into_iter()
        .map(|scope| {
            let rows = BINDINGS
                .iter()
                .filter(|b| b.scope == scope && !(readonly && b.changes))
                .map(|b| (keys_label(b), b.hint))
                .collect();
            (scope, rows)
        })
        .collect()
}

/// Keys inside popups, listed by the popups themselves.
pub const FORM_HINTS: &[(&str, &str)] = &[
    ("tab", "next field"),
    ("←/→", "choose"),
    ("space", "tick"),
    ("enter", "submit"),
    ("esc", "cancel"),
];
pub const CONFIRM_HINTS: &[(&str, &str)] = &[("y/enter", "confirm"), ("n/esc", "cancel")];
pub const LINE_HINTS: &[(&str, &str)] = &[("enter", "run"), ("↑/↓", "history"), ("esc", "cancel")];
pub const FILTER_HINTS: &[(&str, &str)] = &[("enter", "keep filter"), ("esc", "clear")];
pub const PICKER_HINTS: &[(&str, &str)] =
    &[("↑/↓", "move"), ("enter", "choose"), ("esc", "cancel")];
pub const QUERY_EDIT_HINTS: &[(&str, &str)] = &[
    ("ctrl-r", "run"),
    ("ctrl-p/ctrl-n", "history"),
    ("esc", "stop editing"),
];
pub const TEXT_HINTS: &[(&str, &str)] = &[("↑/↓/pgup/pgdn", "scroll"), ("esc/enter", "close")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_one_scope() {
        for scope in Scope::ALL {
            let mut seen = Vec::new();
            for b in active(scope, false) {
                for k in b.keys {
                    let label = k.label();
                    assert!(!seen.contains(&label), "{label} bound twice in {scope:?}");
                    seen.push(label);
                }
            }
        }
    }

    #[test]
    fn readonly_removes_every_changing_binding() {
        // Written out here, not read from the table's `changes` flags: what changes the lake.
        use Intent as I;
        const CHANGING: &[Intent] = &[
            I::CreateBucket,
            I::DeleteBucket,
            I::Upload,
            I::DeleteObject,
            I::CreateKey,
            I::RotateKey,
            I::ToggleKeyEnabled,
            I::ToggleRotation,
            I::ScheduleDeletion,
            I::CancelDeletion,
            I::EditKeyUsers,
            I::StartRun,
            I::StopRun,
            I::Replay,
            I::Classify,
            I::MaskFromFinding,
            I::NewGrant,
            I::Revoke,
        ];
        let mut reachable = Vec::new();
        let mut still_there = 0;
        for scope in Scope::ALL {
            for binding in BINDINGS {
                for key in binding.keys {
                    let ev = KeyEvent::new(
                        key.code,
                        if key.ctrl {
                            KeyModifiers::CONTROL
                        } else {
                            KeyModifiers::NONE
                        },
                    );
                    let Some(intent) = lookup(scope, &ev, false) else {
                        continue;
                    };
                    reachable.push(intent);
                    let readonly = lookup(scope, &ev, true);
                    if CHANGING.contains(&intent) {
                        assert_eq!(readonly, None, "{scope:?} {} with --readonly", key.label());
                    } else {
                        assert_eq!(readonly, Some(intent), "{scope:?} {}", key.label());
                        still_there += 1;
                    }
                }
            }
            // Nor are they offered: not in the bar, not in help.
            let hints: Vec<&str> = hints(scope, true).into_iter().map(|(_, h)| h).collect();
            for binding in BINDINGS.iter().filter(|b| CHANGING.contains(&b.intent)) {
                if binding.scope == scope || binding.scope == Scope::Global {
                    assert!(
                        !hints.contains(&binding.hint),
                        "{scope:?}: {}",
                        binding.hint
                    );
                }
            }
        }
        // Every changing intent has a key without --readonly, so each check above ran.
        for intent in CHANGING {
            assert!(reachable.contains(intent), "{intent:?} has no key");
        }
        assert!(still_there > 20, "--readonly took away reading keys too");
        for (_, rows) in help(true) {
            for (_, hint) in rows {
                assert!(
                    BINDINGS
                        .iter()
                        .filter(|b| b.hint == hint)
                        .all(|b| !CHANGING.contains(&b.intent)),
                    "help offers {hint} with --readonly"
                );
            }
        }
    }
}
