//! The house rules that keep the code walkable, checked on the source itself so they stay
//! true: modules only import their own layer or lower ones (no import loops), and stored
//! states are spelled only by their types (ARCHITECTURE.md explains both).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use attest::domain::{
    apply, decision, directory, escalation, notify, outcome, recommendation, recurrence, review, stage,
};

/// Each top-level module of `src/` and its layer: a module may import modules of its own
/// layer or of lower ones, never of a higher one.
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("clock", 0),
    ("config", 0),
    ("domain", 1),
    ("db", 2),
    ("store", 3),
    ("auth", 4),
    ("sources", 4),
    ("service", 5),
    ("notify", 5),
    ("demo", 6),
    ("web", 7),
    ("scheduler", 7),
    ("scim", 7),
    ("api", 7),
    ("startup", 8),
];

fn src_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

/// `web` for `src/web/admin/mod.rs`, `error` for `src/error.rs`.
fn top_module(path: &Path) -> String {
    let rel = path.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).unwrap_or(path);
    let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

/// The source without `//` comments (doc comments name other layers freely).
fn code_of(text: &str) -> String {
    text.lines().map(|line| line.split_once("//").map_or(line, |(code, _)| code)).collect::<Vec<_>>().join("\n")
}

/// The top-level modules a file's code names through `crate::` paths, grouped imports included.
fn imported_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // `$crate::` in a macro names whatever crate uses it.
        let preceded_by_dollar = at > 0 && rest.as_bytes()[at - 1] == b'$';
        rest = &rest[at + "crate::".len()..];
        if preceded_by_dollar {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::b, c}`: the first segment of each entry at depth one.
            let mut depth = 1;
            let mut expect_name = true;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => expect_name = true,
                    c if c.is_whitespace() => {}
                    _ if expect_name && depth == 1 => {
                        out.insert(ident(&group[i..]));
                        expect_name = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn modules_use_only_lower_layers() {
    let layer = |m: &str| LAYERS.iter().find(|(name, _)| *name == m).map(|(_, l)| *l);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for path in src_files() {
        let module = top_module(&path);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer(&module) else {
            wrong.push(format!("{}: module `{module}` has no layer: add it to LAYERS", path.display()));
            continue;
        };
        let code = code_of(&fs::read_to_string(&path).unwrap_or_default());
        for used in imported_modules(&code) {
            if used == module || used == "self" {
                continue;
            }
            match layer(&used) {
                Some(theirs) if theirs > own => wrong
                    .push(format!("{} (layer {own}, {module}) imports crate::{used} (layer {theirs})", path.display())),
                _ => {}
            }
            edges.entry(module.clone()).or_default().insert(used);
        }
    }
    // Modules of one layer may use each other, but not both ways round.
    for (from, tos) in &edges {
        for to in tos {
            if edges.get(to).is_some_and(|back| back.contains(from)) && from < to {
                wrong.push(format!("import loop: {from} ↔ {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layer rule broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_import_reader_sees_grouped_and_nested_paths() {
    let code = "use crate::{\n    domain::review::{A, B},\n    store,\n};\nlet x = crate::web::f();\n$crate::domain::x";
    let found: Vec<String> = imported_modules(code).into_iter().collect();
    assert_eq!(found, ["domain", "store", "web"]);
}

/// A stored state's spellings and the file that may spell them.
fn states() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    fn of<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
        all.iter().map(|v| as_str(*v)).collect()
    }
    vec![
        ("UserType", "domain/directory.rs", of(&directory::UserType::ALL, directory::UserType::as_str)),
        ("GroupType", "domain/directory.rs", of(&directory::GroupType::ALL, directory::GroupType::as_str)),
        ("RoleKind", "domain/directory.rs", of(&directory::RoleKind::ALL, directory::RoleKind::as_str)),
        (
            "AssignmentType",
            "domain/directory.rs",
            of(&directory::AssignmentType::ALL, directory::AssignmentType::as_str),
        ),
        ("ScopeKind", "domain/review.rs", of(&review::ScopeKind::ALL, review::ScopeKind::as_str)),
        ("ResourceKind", "domain/review.rs", of(&review::ResourceKind::ALL, review::ResourceKind::as_str)),
        ("ReviewerKind", "domain/review.rs", of(&review::ReviewerKind::ALL, review::ReviewerKind::as_str)),
        ("DefaultDecision", "domain/review.rs", of(&review::DefaultDecision::ALL, review::DefaultDecision::as_str)),
        ("DefinitionStatus", "domain/review.rs", of(&review::DefinitionStatus::ALL, review::DefinitionStatus::as_str)),
        ("InstanceStatus", "domain/review.rs", of(&review::InstanceStatus::ALL, review::InstanceStatus::as_str)),
        (
            "RoleAssignmentTypes",
            "domain/review.rs",
            of(&review::RoleAssignmentTypes::ALL, review::RoleAssignmentTypes::as_str),
        ),
        ("UserScopeKind", "domain/review.rs", of(&review::UserScopeKind::ALL, review::UserScopeKind::as_str)),
        (
            "GuestDeniedAction",
            "domain/review.rs",
            of(&review::GuestDeniedAction::ALL, review::GuestDeniedAction::as_str),
        ),
        ("Frequency", "domain/recurrence.rs", of(&recurrence::Frequency::ALL, recurrence::Frequency::as_str)),
        ("EndKind", "domain/recurrence.rs", of(&recurrence::EndKind::ALL, recurrence::EndKind::as_str)),
        ("Decision", "domain/decision.rs", of(&decision::Decision::ALL, decision::Decision::as_str)),
        ("Pool", "domain/decision.rs", of(&decision::Pool::ALL, decision::Pool::as_str)),
        (
            "Recommendation",
            "domain/recommendation.rs",
            of(&recommendation::Recommendation::ALL, recommendation::Recommendation::as_str),
        ),
        ("ApplyResult", "domain/apply.rs", of(&apply::ApplyResult::ALL, apply::ApplyResult::as_str)),
        ("MailKind", "domain/notify.rs", of(&notify::MailKind::ALL, notify::MailKind::as_str)),
        ("MailStatus", "domain/notify.rs", of(&notify::MailStatus::ALL, notify::MailStatus::as_str)),
        ("Move", "domain/stage.rs", of(&stage::Move::ALL, stage::Move::as_str)),
        (
            "EscalationTarget",
            "domain/escalation.rs",
            of(&escalation::EscalationTarget::ALL, escalation::EscalationTarget::as_str),
        ),
        ("OutcomeRule", "domain/outcome.rs", of(&outcome::OutcomeRule::ALL, outcome::OutcomeRule::as_str)),
    ]
}

/// Literals that spell a state's value but mean something else where they stand: words on
/// pages and in reports that happen to be a state's spelling too.
const NOT_STATES: &[(&str, &str)] = &[
    // The LDAP form's "Security" (TLS) choice, not a group type.
    ("web/admin/directory/ldap.rs", "\"Security\""),
    // Graph's own query language (`userType eq 'Guest'`), written as Graph writes it.
    ("api/reviews.rs", "'Guest'"),
    // SCIM's own vocabulary (its resource type "Group"), not a stored state.
    ("sources/scim/", "\"Group\""),
    // The directory as a name: the tenant-wide scope, sign-ins to no application, the
    // audit log's target, the directory's default display name.
    ("demo/mod.rs", "\"Directory\""),
    ("service/onboarding.rs", "\"Directory\""),
    ("startup.rs", "\"Directory\""),
    ("web/admin/audit.rs", "\"Directory\""),
    ("web/panel.rs", "\"Directory\""),
    ("sources/csv.rs", "\"Directory\""),
    // A column heading of Entra's sign-in log export.
    ("sources/sign_ins.rs", "\"Application\""),
    // Column headings of the audit log's details and of the results CSV.
    ("domain/audit.rs", "\"Resource\""),
    ("domain/audit.rs", "\"Reviewers\""),
    ("domain/export.rs", "\"Resource\""),
    // Words on pages: an apply result's label, "last seen: Never", the "All" filter tab.
    ("domain/apply.rs", "\"Failed\""),
    ("web/format.rs", "\"Never\""),
    ("web/panel.rs", "\"All\""),
];

#[test]
fn stored_states_are_spelled_only_by_their_types() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for path in src_files() {
        let rel = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        if rel == "domain/state.rs" || rel == "db/schema.rs" {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap_or_default();
        // Unit tests at the end of a file may spell what they check.
        let code = code_of(text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default());
        let states = states();
        for (name, home, spellings) in &states {
            if rel == *home {
                continue;
            }
            for spelling in spellings {
                // The same word may be another state's, spelled in that state's home.
                if states.iter().any(|(_, other_home, other)| rel == *other_home && other.contains(spelling)) {
                    continue;
                }
                for literal in [format!("\"{spelling}\""), format!("'{spelling}'")] {
                    let allowed = NOT_STATES.iter().any(|(file, lit)| rel.starts_with(file) && *lit == literal);
                    if !allowed && code.contains(&literal) {
                        wrong.push(format!("src/{rel} spells {name} {literal}: use {name}::…"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "stored states spelled outside their types:\n{}", wrong.join("\n"));
}
