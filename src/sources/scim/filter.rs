//! SCIM filters (RFC 7644 §3.4.2.2): a lexer, a parser into a typed AST and an in-memory
//! evaluator.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / "not" "(" FILTER ")" / "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"     ; valFilter: the same, on sub-attributes
//! attrExp   = attrPath "pr" / attrPath compareOp compValue
//! logExp    = FILTER ("and" / "or") FILTER   ; "and" binds tighter than "or"
//! ```
//!
//! Operators, keywords and attribute names are case-insensitive. Like Entra and Okta do,
//! a value path may also be followed by a sub-attribute and a comparison
//! (`emails[type eq "work"].value eq "ada@example.com"`): one email must match both.
//!
//! Attribute paths are resolved against the attribute table while parsing, and the
//! comparison value is typed by the attribute it is compared with (text, boolean, or a
//! date for `meta.lastModified`), so the store can translate the tree to SQL without
//! looking at names again. The input is bounded in length and in nesting depth, and
//! `and`/`or` chains are kept flat, so no filter can make a recursive walk run deep.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use serde_json::Value;

use super::error::{ScimError, quote};
use super::patch::PatchPath;
use super::schema::{self, AttrPath, AttrType, Resolved, ResourceType, fold_case};
use super::value::get_ci;

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;

/// The deepest nesting of parentheses, `not (…)` and value paths accepted.
pub const MAX_FILTER_DEPTH: usize = 16;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains.
    Co,
    /// Starts with.
    Sw,
    /// Ends with.
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl CompareOp {
    /// Every operator.
    pub const ALL: [CompareOp; 9] =
        [Self::Eq, Self::Ne, Self::Co, Self::Sw, Self::Ew, Self::Gt, Self::Ge, Self::Lt, Self::Le];

    /// The operator as written in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// The operator with this spelling, case-insensitively.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    fn is_equality(self) -> bool {
        matches!(self, Self::Eq | Self::Ne)
    }

    fn is_substring(self) -> bool {
        matches!(self, Self::Co | Self::Sw | Self::Ew)
    }
}

/// A comparison value, typed by the attribute it is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompValue {
    /// `null`: with `eq`, the attribute has no value; with `ne`, it has one.
    Null,
    /// For boolean attributes.
    Bool(bool),
    /// For text and reference attributes (compared case-insensitively unless the
    /// attribute is `caseExact`).
    String(String),
    /// For dateTime attributes: the instant in UTC.
    DateTime(NaiveDateTime),
}

/// A parsed filter. Paths inside a [`Filter::ValuePath`] name sub-attributes of its
/// attribute (`emails[type eq "work"]` holds `emails.type eq "work"`) and must hold for
/// one and the same element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `path op value`.
    Compare {
        /// The attribute compared; a complex attribute with a `value` sub-attribute is
        /// resolved to it (`emails eq "x"` compares `emails.value`).
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The value, typed.
        value: CompValue,
    },
    /// `path pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// All hold (two or more, never nested in another `And`).
    And(Vec<Filter>),
    /// One holds (two or more, never nested in another `Or`).
    Or(Vec<Filter>),
    /// `not (…)`.
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued (or complex) attribute matches.
    ValuePath {
        /// The attribute, without a sub-attribute.
        attr: AttrPath,
        /// The condition on one element.
        filter: Box<Filter>,
    },
}

impl Filter {
    /// Parses the `filter` query parameter for a resource type. Errors are
    /// `invalidFilter` and name what to fix and where.
    pub fn parse(text: &str, resource: ResourceType) -> Result<Filter, ScimError> {
        let raw = parse_raw(text)?;
        resolve(&raw, resource, None)
    }

    /// Whether the resource (as rendered JSON) matches. Comparisons on an absent attribute
    /// are false, so `not (title eq "x")` matches a user without a title; a SQL
    /// translation must treat NULL the same way (`COALESCE(…, FALSE)`).
    pub fn matches(&self, resource: &Value) -> bool {
        self.eval(resource, None)
    }

    /// Whether one element of a multi-valued attribute (an email, a member, as JSON)
    /// matches this filter, whose paths name its sub-attributes: the filter of a value
    /// path.
    pub fn matches_element(&self, element: &Value) -> bool {
        self.eval(&Value::Null, Some(element))
    }

    /// Refuses a filter on an attribute the store cannot list resources by, naming the
    /// attributes it can.
    pub fn check_filterable(&self, resource: ResourceType) -> Result<(), ScimError> {
        let mut bad = None;
        self.visit_paths(&mut |path| {
            if bad.is_none() && !path.leaf().filterable {
                bad = Some(path);
            }
        });
        match bad {
            None => Ok(()),
            Some(path) => Err(ScimError::invalid_filter(format!(
                "attest cannot list {} resources by {path}. Filter on {}.",
                resource.name(),
                filterable_names(resource).join(", ")
            ))),
        }
    }

    /// Calls `f` with every attribute path the filter compares, value paths' attributes
    /// included.
    pub fn visit_paths(&self, f: &mut impl FnMut(AttrPath)) {
        match self {
            Self::Compare { path, .. } | Self::Present(path) => f(*path),
            Self::And(all) | Self::Or(all) => all.iter().for_each(|x| x.visit_paths(f)),
            Self::Not(inner) => inner.visit_paths(f),
            Self::ValuePath { filter, .. } => filter.visit_paths(f),
        }
    }

    /// The `path eq value` conditions of a filter made only of them (one, or several
    /// joined by `and`): what a new element must hold when a PATCH `replace` of
    /// `emails[type eq "work"].value` finds no element to replace.
    pub fn equalities(&self) -> Option<Vec<(AttrPath, &CompValue)>> {
        match self {
            Self::Compare { path, op: CompareOp::Eq, value } if *value != CompValue::Null => Some(vec![(*path, value)]),
            Self::And(all) => {
                let mut out = Vec::new();
                for part in all {
                    out.extend(part.equalities()?);
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// The texts of a filter that is `value eq "…"`, or several of those joined by `or`
    /// (`members[value eq "a" or value eq "b"]`): a set of ids a group PATCH can remove
    /// without loading the group's members.
    pub fn value_set(&self) -> Option<Vec<&str>> {
        match self {
            Self::Compare { path, op: CompareOp::Eq, value: CompValue::String(text) }
                if path.sub.is_some_and(|s| s.key == "value") =>
            {
                Some(vec![text.as_str()])
            }
            Self::Or(any) => {
                let mut out = Vec::new();
                for part in any {
                    out.extend(part.value_set()?);
                }
                Some(out)
            }
            _ => None,
        }
    }

    fn eval(&self, root: &Value, element: Option<&Value>) -> bool {
        match self {
            Self::Compare { path, op, value } => {
                let found = leaves(root, element, path);
                match value {
                    CompValue::Null => (*op == CompareOp::Eq) == found.is_empty(),
                    value => found.into_iter().any(|v| compare(v, *op, value, path.leaf().case_exact)),
                }
            }
            Self::Present(path) => leaves(root, element, path).into_iter().any(is_present),
            Self::And(all) => all.iter().all(|f| f.eval(root, element)),
            Self::Or(any) => any.iter().any(|f| f.eval(root, element)),
            Self::Not(inner) => !inner.eval(root, element),
            Self::ValuePath { attr, filter } => elements(root, attr).into_iter().any(|e| filter.eval(root, Some(e))),
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, relative: bool) -> fmt::Result {
        let path_text = |path: &AttrPath| match (relative, path.sub) {
            (true, Some(sub)) => sub.name.to_owned(),
            _ => path.to_string(),
        };
        match self {
            Self::Compare { path, op, value } => {
                write!(f, "{} {} ", path_text(path), op.as_str())?;
                match value {
                    CompValue::Null => f.write_str("null"),
                    CompValue::Bool(b) => write!(f, "{b}"),
                    CompValue::String(s) => f.write_str(&Value::String(s.clone()).to_string()),
                    CompValue::DateTime(t) => {
                        write!(f, "\"{}\"", t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true))
                    }
                }
            }
            Self::Present(path) => write!(f, "{} pr", path_text(path)),
            Self::And(all) => {
                for (i, part) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    if matches!(part, Self::Or(_)) {
                        f.write_str("(")?;
                        part.write(f, relative)?;
                        f.write_str(")")?;
                    } else {
                        part.write(f, relative)?;
                    }
                }
                Ok(())
            }
            Self::Or(any) => {
                for (i, part) in any.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    part.write(f, relative)?;
                }
                Ok(())
            }
            Self::Not(inner) => {
                f.write_str("not (")?;
                inner.write(f, relative)?;
                f.write_str(")")
            }
            Self::ValuePath { attr, filter } => {
                write!(f, "{attr}[")?;
                filter.write(f, true)?;
                f.write_str("]")
            }
        }
    }
}

/// The canonical text of the filter, which parses back to the same filter.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, false)
    }
}

/// The attributes of a resource type that lists can be filtered on, as clients write them.
pub fn filterable_names(resource: ResourceType) -> Vec<String> {
    let mut out = Vec::new();
    for schema in std::iter::once(resource.core()).chain(resource.extensions().iter().copied()) {
        for attr in schema.def().attributes {
            let base = AttrPath { schema, attr, sub: None };
            if attr.filterable {
                out.push(base.to_string());
            }
            for sub in attr.sub_attributes.iter().filter(|s| s.filterable) {
                out.push(base.with_sub(Some(sub)).to_string());
            }
        }
    }
    out
}

/// The values an attribute holds in a resource: its elements when it is multi-valued.
fn elements<'a>(root: &'a Value, attr: &AttrPath) -> Vec<&'a Value> {
    let container =
        if attr.schema == attr.schema.resource_type().core() { Some(root) } else { get_ci(root, attr.schema.urn()) };
    match container.and_then(|c| get_ci(c, attr.attr.name)) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).collect(),
        Some(value) => vec![value],
    }
}

/// The leaf values a path reaches: in the element of a value path, or in the resource.
fn leaves<'a>(root: &'a Value, element: Option<&'a Value>, path: &AttrPath) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let mut push = |v: &'a Value| match v {
        Value::Null => {}
        Value::Array(items) => out.extend(items.iter().filter(|v| !v.is_null())),
        v => out.push(v),
    };
    match (element, path.sub) {
        (Some(element), Some(sub)) => {
            if let Some(v) = get_ci(element, sub.name) {
                push(v);
            }
        }
        (Some(element), None) => push(element),
        (None, None) => elements(root, path).into_iter().for_each(push),
        (None, Some(sub)) => {
            for e in elements(root, path) {
                if let Some(v) = get_ci(e, sub.name) {
                    push(v);
                }
            }
        }
    }
    out
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

fn compare(found: &Value, op: CompareOp, value: &CompValue, case_exact: bool) -> bool {
    match value {
        CompValue::Null => false,
        CompValue::Bool(b) => {
            let found = match found {
                Value::Bool(v) => *v,
                Value::String(s) if s.eq_ignore_ascii_case("true") => true,
                Value::String(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return false,
            };
            match op {
                CompareOp::Eq => found == *b,
                CompareOp::Ne => found != *b,
                _ => false,
            }
        }
        CompValue::String(wanted) => {
            let Some(found) = found.as_str() else { return false };
            let (found, wanted) =
                if case_exact { (found.to_owned(), wanted.clone()) } else { (fold_case(found), fold_case(wanted)) };
            match op {
                CompareOp::Eq => found == wanted,
                CompareOp::Ne => found != wanted,
                CompareOp::Co => found.contains(&wanted),
                CompareOp::Sw => found.starts_with(&wanted),
                CompareOp::Ew => found.ends_with(&wanted),
                CompareOp::Gt => found > wanted,
                CompareOp::Ge => found >= wanted,
                CompareOp::Lt => found < wanted,
                CompareOp::Le => found <= wanted,
            }
        }
        CompValue::DateTime(wanted) => {
            let Some(found) = found.as_str().and_then(parse_datetime) else { return false };
            match op {
                CompareOp::Eq => found == *wanted,
                CompareOp::Ne => found != *wanted,
                CompareOp::Gt => found > *wanted,
                CompareOp::Ge => found >= *wanted,
                CompareOp::Lt => found < *wanted,
                CompareOp::Le => found <= *wanted,
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
            }
        }
    }
}

/// An xsd:dateTime with an offset (RFC 3339), as UTC.
pub(crate) fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.naive_utc())
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// An attribute path, operator, keyword or `true`/`false`/`null`; a word right after
    /// `]` that starts with '.' is a sub-attribute.
    Word(String),
    /// A JSON string, unescaped.
    Str(String),
    /// A JSON number, as written.
    Num(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based character position, for error messages.
    at: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-' | '$')
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&(start, c)) = chars.get(i) {
        let at = i + 1;
        let single = match c {
            ' ' | '\t' | '\r' | '\n' => {
                i += 1;
                continue;
            }
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            _ => None,
        };
        if let Some(tok) = single {
            tokens.push(Token { tok, at });
            i += 1;
            continue;
        }
        if c == '"' {
            let mut j = i + 1;
            let mut escaped = false;
            loop {
                let Some(&(_, d)) = chars.get(j) else {
                    return Err(format!("The text starting at character {at} has no closing '\"'."));
                };
                if escaped {
                    escaped = false;
                } else if d == '\\' {
                    escaped = true;
                } else if d == '"' {
                    break;
                }
                j += 1;
            }
            let raw = &text[start..byte_at(j + 1)];
            let value: String = serde_json::from_str(raw).map_err(|_| {
                format!("The text starting at character {at} is not a valid JSON string (check its '\\' escapes).")
            })?;
            if value.chars().any(|c| c.is_control()) {
                return Err(format!("The text starting at character {at} holds a control character."));
            }
            tokens.push(Token { tok: Tok::Str(value), at });
            i = j + 1;
            continue;
        }
        if c == '-' || c.is_ascii_digit() {
            let mut j = i;
            while chars.get(j).is_some_and(|(_, d)| d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-')) {
                j += 1;
            }
            let raw = &text[start..byte_at(j)];
            if serde_json::from_str::<serde_json::Number>(raw).is_err() {
                return Err(format!("{} at character {at} is not a number.", quote(raw)));
            }
            tokens.push(Token { tok: Tok::Num(raw.to_owned()), at });
            i = j;
            continue;
        }
        if is_word_char(c) {
            let mut j = i;
            while chars.get(j).is_some_and(|(_, d)| is_word_char(*d)) {
                j += 1;
            }
            tokens.push(Token { tok: Tok::Word(text[start..byte_at(j)].to_owned()), at });
            i = j;
            continue;
        }
        return Err(format!(
            "The character {} at position {at} cannot appear here; text values go between double quotes.",
            quote(&c.to_string())
        ));
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------------------
// Parser: tokens to a raw tree of unresolved names, then resolution against the table.

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
}

#[derive(Debug, Clone)]
enum Raw {
    Cmp { path: String, at: usize, op: CompareOp, value: Literal, value_at: usize },
    Present { path: String, at: usize },
    And(Vec<Raw>),
    Or(Vec<Raw>),
    Not(Box<Raw>),
    ValuePath { path: String, at: usize, filter: Box<Raw> },
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Position just after the input, for "expected … at the end" messages.
    end: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Self, String> {
        if text.len() > MAX_FILTER_LEN {
            return Err(format!("The filter is {} bytes long; attest accepts at most {MAX_FILTER_LEN}.", text.len()));
        }
        let tokens = lex(text)?;
        if tokens.is_empty() {
            return Err("The filter is empty. Write a condition such as userName eq \"ada@example.com\".".into());
        }
        Ok(Self { tokens, pos: 0, end: text.chars().count() + 1 })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn at(&self) -> usize {
        self.peek().map_or(self.end, |t| t.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), String> {
        match self.next() {
            Some(t) if t.tok == tok => Ok(()),
            Some(t) => Err(format!("Expected {what} at character {}, found {}.", t.at, describe(&t.tok))),
            None => Err(format!("Expected {what} at the end of the filter.")),
        }
    }

    fn or(&mut self, depth: usize, nested: bool) -> Result<Raw, String> {
        let mut parts = vec![self.and(depth, nested)?];
        while self.peek_keyword("or") {
            self.pos += 1;
            parts.push(self.and(depth, nested)?);
        }
        Ok(flatten(parts, false))
    }

    fn and(&mut self, depth: usize, nested: bool) -> Result<Raw, String> {
        let mut parts = vec![self.unary(depth, nested)?];
        while self.peek_keyword("and") {
            self.pos += 1;
            parts.push(self.unary(depth, nested)?);
        }
        Ok(flatten(parts, true))
    }

    fn deeper(&self, depth: usize) -> Result<usize, String> {
        if depth >= MAX_FILTER_DEPTH {
            Err(format!("The filter nests deeper than {MAX_FILTER_DEPTH} levels at character {}.", self.at()))
        } else {
            Ok(depth + 1)
        }
    }

    fn unary(&mut self, depth: usize, nested: bool) -> Result<Raw, String> {
        if self.peek_keyword("not") && matches!(self.tokens.get(self.pos + 1), Some(Token { tok: Tok::LParen, .. })) {
            let depth = self.deeper(depth)?;
            self.pos += 2;
            let inner = self.or(depth, nested)?;
            self.expect(Tok::RParen, "')' closing 'not ('")?;
            return Ok(Raw::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token { tok: Tok::LParen, .. }) => {
                let depth = self.deeper(depth)?;
                let inner = self.or(depth, nested)?;
                self.expect(Tok::RParen, "')'")?;
                Ok(inner)
            }
            Some(Token { tok: Tok::Word(word), at }) => self.attr_exp(word, at, depth, nested),
            Some(t) => Err(format!("Expected an attribute name at character {}, found {}.", t.at, describe(&t.tok))),
            None => Err("The filter ends where a condition should follow.".into()),
        }
    }

    fn attr_exp(&mut self, path: String, at: usize, depth: usize, nested: bool) -> Result<Raw, String> {
        if path.eq_ignore_ascii_case("not") {
            return Err(format!("'not' at character {at} must be followed by a condition in parentheses: not (…)."));
        }
        if path.starts_with('.') || is_keyword(&path) {
            return Err(format!("Expected an attribute name at character {at}, found {}.", quote(&path)));
        }
        if matches!(self.peek(), Some(Token { tok: Tok::LBracket, .. })) {
            if nested {
                return Err(format!(
                    "The value filter at character {} is inside another one; they cannot nest.",
                    self.at()
                ));
            }
            let depth = self.deeper(depth)?;
            self.pos += 1;
            let inner = self.or(depth, true)?;
            self.expect(Tok::RBracket, "']' closing the value filter")?;
            let filter = match self.peek() {
                Some(Token { tok: Tok::Word(w), at: sub_at }) if w.starts_with('.') => {
                    let (sub, sub_at) = (w[1..].to_owned(), *sub_at);
                    self.pos += 1;
                    Box::new(flatten(vec![inner, self.condition(sub, sub_at)?], true))
                }
                _ => Box::new(inner),
            };
            return Ok(Raw::ValuePath { path, at, filter });
        }
        self.condition(path, at)
    }

    fn condition(&mut self, path: String, at: usize) -> Result<Raw, String> {
        let op = match self.next() {
            Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case("pr") => {
                return Ok(Raw::Present { path, at });
            }
            Some(Token { tok: Tok::Word(w), at: op_at }) => CompareOp::parse(&w).ok_or_else(|| {
                format!(
                    "{} at character {op_at} is not an operator; use eq, ne, co, sw, ew, gt, ge, lt, le or pr.",
                    quote(&w)
                )
            })?,
            Some(t) => {
                return Err(format!(
                    "Expected an operator after {} at character {}, found {}.",
                    quote(&path),
                    t.at,
                    describe(&t.tok)
                ));
            }
            None => {
                return Err(format!("The filter ends after {}; an operator such as eq should follow.", quote(&path)));
            }
        };
        let value_at = self.at();
        let value = match self.next() {
            Some(Token { tok: Tok::Str(s), .. }) => Literal::Str(s),
            Some(Token { tok: Tok::Num(n), .. }) => Literal::Num(n),
            Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Some(Token { tok: Tok::Word(w), at }) => {
                return Err(format!(
                    "The value {} at character {at} must be in double quotes, or be true, false, null or a number.",
                    quote(&w)
                ));
            }
            Some(t) => return Err(format!("Expected a value at character {}, found {}.", t.at, describe(&t.tok))),
            None => return Err(format!("The filter ends after {}; a value should follow.", op.as_str())),
        };
        Ok(Raw::Cmp { path, at, op, value, value_at })
    }

    fn finish(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(format!(
                "Unexpected {} at character {}; join conditions with 'and' or 'or'.",
                describe(&t.tok),
                t.at
            )),
        }
    }
}

fn is_keyword(word: &str) -> bool {
    ["and", "or", "not", "pr", "true", "false", "null"].iter().any(|k| k.eq_ignore_ascii_case(word))
        || CompareOp::parse(word).is_some()
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::Word(w) => quote(w),
        Tok::Str(s) => format!("the text {}", quote(s)),
        Tok::Num(n) => format!("the number {n}"),
    }
}

fn flatten(parts: Vec<Raw>, and: bool) -> Raw {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or(Raw::And(Vec::new()));
    }
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Raw::And(inner) if and => out.extend(inner),
            Raw::Or(inner) if !and => out.extend(inner),
            other => out.push(other),
        }
    }
    if and { Raw::And(out) } else { Raw::Or(out) }
}

fn parse_raw(text: &str) -> Result<Raw, ScimError> {
    let run = || {
        let mut parser = Parser::new(text)?;
        let raw = parser.or(0, false)?;
        parser.finish()?;
        Ok(raw)
    };
    run().map_err(|detail: String| ScimError::invalid_filter(detail))
}

/// Resolves a raw tree; `parent` is the attribute of the value path the tree sits in.
fn resolve(raw: &Raw, resource: ResourceType, parent: Option<AttrPath>) -> Result<Filter, ScimError> {
    Ok(match raw {
        Raw::Cmp { path, at, op, value, value_at } => {
            let path = resolve_name(path, *at, resource, parent)?;
            let value = type_value(path, *op, value, *value_at)?;
            Filter::Compare { path, op: *op, value }
        }
        Raw::Present { path, at } => Filter::Present(resolve_name(path, *at, resource, parent)?),
        Raw::And(all) => Filter::And(all.iter().map(|r| resolve(r, resource, parent)).collect::<Result<_, _>>()?),
        Raw::Or(any) => Filter::Or(any.iter().map(|r| resolve(r, resource, parent)).collect::<Result<_, _>>()?),
        Raw::Not(inner) => Filter::Not(Box::new(resolve(inner, resource, parent)?)),
        Raw::ValuePath { path, at, filter } => {
            let attr = resolve_value_path_attr(path, *at, resource)?;
            Filter::ValuePath { attr, filter: Box::new(resolve(filter, resource, Some(attr))?) }
        }
    })
}

fn resolve_value_path_attr(path: &str, at: usize, resource: ResourceType) -> Result<AttrPath, ScimError> {
    match schema::resolve(resource, path) {
        Ok(Resolved::Attr(attr)) if attr.sub.is_none() && attr.attr.kind == AttrType::Complex => Ok(attr),
        Ok(Resolved::Attr(attr)) => Err(ScimError::invalid_filter(format!(
            "{attr} at character {at} has no sub-attributes to filter in '[…]'; compare it directly."
        ))),
        Ok(Resolved::Extension(_) | Resolved::Unknown) => Err(unknown_attribute(path, at, resource)),
        Err(detail) => Err(ScimError::invalid_filter(format!("{detail} (at character {at})"))),
    }
}

fn resolve_name(
    name: &str,
    at: usize,
    resource: ResourceType,
    parent: Option<AttrPath>,
) -> Result<AttrPath, ScimError> {
    if let Some(parent) = parent {
        return match parent.attr.sub(name) {
            Some(sub) if schema::is_attr_name(name) => Ok(parent.with_sub(Some(sub))),
            _ => Err(ScimError::invalid_filter(format!(
                "{} has no sub-attribute {} (at character {at}); use one of {}.",
                parent,
                quote(name),
                parent.attr.sub_attributes.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            ))),
        };
    }
    match schema::resolve(resource, name) {
        Ok(Resolved::Attr(path)) => Ok(path.with_default_value()),
        Ok(Resolved::Extension(_) | Resolved::Unknown) => Err(unknown_attribute(name, at, resource)),
        Err(detail) => Err(ScimError::invalid_filter(format!("{detail} (at character {at})"))),
    }
}

fn unknown_attribute(name: &str, at: usize, resource: ResourceType) -> ScimError {
    ScimError::invalid_filter(format!(
        "attest keeps no attribute {} on {} resources (at character {at}); see /Schemas for the ones it keeps.",
        quote(name),
        resource.name()
    ))
}

fn type_value(path: AttrPath, op: CompareOp, literal: &Literal, at: usize) -> Result<CompValue, ScimError> {
    let leaf = path.leaf();
    let fail = |why: String| Err(ScimError::invalid_filter(format!("{why} (the value at character {at})")));
    if leaf.kind == AttrType::Complex {
        let example = leaf.sub_attributes.first().map_or("", |s| s.name);
        return fail(format!("{path} has sub-attributes; compare one of them, such as {path}.{example}"));
    }
    match literal {
        Literal::Null if op.is_equality() => Ok(CompValue::Null),
        Literal::Null => fail(format!("Only eq and ne compare with null, not {}", op.as_str())),
        Literal::Bool(b) if leaf.kind == AttrType::Boolean => {
            if op.is_equality() {
                Ok(CompValue::Bool(*b))
            } else {
                fail(format!("{path} is true or false; compare it with eq or ne, not {}", op.as_str()))
            }
        }
        Literal::Str(_) | Literal::Num(_) if leaf.kind == AttrType::Boolean => {
            fail(format!("{path} is true or false; write true or false without quotes"))
        }
        Literal::Bool(_) | Literal::Num(_) => fail(format!("{path} holds text; put the value in double quotes")),
        Literal::Str(text) => match leaf.kind {
            AttrType::DateTime if op.is_substring() => {
                fail(format!("{path} is a date; compare it with eq, ne, gt, ge, lt or le, not {}", op.as_str()))
            }
            AttrType::DateTime => match parse_datetime(text) {
                Some(t) => Ok(CompValue::DateTime(t)),
                None => fail(format!("{path} is a date; write it as \"2026-01-31T12:00:00Z\", not {}", quote(text))),
            },
            _ => Ok(CompValue::String(text.clone())),
        },
    }
}

/// Parses a PATCH `path` (RFC 7644 §3.5.2: `attrPath`, or `valuePath` optionally followed
/// by `.subAttr`). Errors are `invalidPath`. A well-formed path to an attribute attest
/// does not keep is [`PatchPath::Ignored`]; its value filter is still checked for syntax.
pub(crate) fn parse_patch_path(text: &str, resource: ResourceType) -> Result<PatchPath, ScimError> {
    let invalid = |detail: String| ScimError::invalid_path(format!("The path {}: {detail}", quote(text)));
    let mut parser = Parser::new(text).map_err(invalid)?;
    let Some(Token { tok: Tok::Word(name), at }) = parser.next() else {
        return Err(invalid("it must start with an attribute name.".into()));
    };
    let resolved = schema::resolve(resource, &name).map_err(invalid)?;
    if !matches!(parser.peek(), Some(Token { tok: Tok::LBracket, .. })) {
        parser.finish().map_err(invalid)?;
        return Ok(match resolved {
            Resolved::Attr(path) => PatchPath::Attr { path, filter: None },
            Resolved::Extension(schema) => PatchPath::Extension(schema),
            Resolved::Unknown => PatchPath::Ignored(text.to_owned()),
        });
    }
    parser.pos += 1;
    let raw = parser.or(1, true).map_err(invalid)?;
    parser.expect(Tok::RBracket, "']' closing the value filter").map_err(invalid)?;
    let sub = match parser.next() {
        None => None,
        Some(Token { tok: Tok::Word(w), at }) if w.starts_with('.') && schema::is_attr_name(&w[1..]) => {
            Some((w[1..].to_owned(), at))
        }
        Some(t) => {
            return Err(invalid(format!(
                "after ']' only a sub-attribute such as .value may follow, not {} (at character {}).",
                describe(&t.tok),
                t.at
            )));
        }
    };
    parser.finish().map_err(invalid)?;
    let attr = match resolved {
        Resolved::Unknown => return Ok(PatchPath::Ignored(text.to_owned())),
        Resolved::Extension(_) => return Err(invalid("a schema cannot be filtered with '[…]'.".into())),
        Resolved::Attr(attr) if attr.sub.is_some() || !attr.attr.multi_valued => {
            return Err(invalid(format!(
                "{attr} (at character {at}) is not a multi-valued attribute, so it takes no '[…]' filter."
            )));
        }
        Resolved::Attr(attr) => attr,
    };
    let filter = resolve(&raw, resource, Some(attr)).map_err(|e| invalid(e.detail().to_owned()))?;
    let path = match sub {
        None => attr,
        Some((name, _)) => match attr.attr.sub(&name) {
            Some(sub) => attr.with_sub(Some(sub)),
            None => return Ok(PatchPath::Ignored(text.to_owned())),
        },
    };
    Ok(PatchPath::Attr { path, filter: Some(filter) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sources::scim::error::ScimType;
    use crate::sources::scim::schema::Schema;

    const USER: ResourceType = ResourceType::User;
    const GROUP: ResourceType = ResourceType::Group;

    fn parse(text: &str) -> Filter {
        Filter::parse(text, USER).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn error(text: &str) -> String {
        let err = Filter::parse(text, USER).expect_err(text);
        assert_eq!(err.scim_type(), Some(ScimType::InvalidFilter), "{text}");
        assert_eq!(err.status(), 400);
        err.detail().to_owned()
    }

    fn p(text: &str) -> AttrPath {
        schema::path(USER, text).unwrap()
    }

    fn s(text: &str) -> CompValue {
        CompValue::String(text.into())
    }

    #[test]
    fn parses_what_the_clients_send() {
        // Entra: matching by userName, externalId, the work email; Test Connection.
        assert_eq!(
            parse(r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#),
            Filter::Compare {
                path: p("userName"),
                op: CompareOp::Eq,
                value: s("Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee")
            }
        );
        assert_eq!(
            parse(r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#),
            Filter::Compare {
                path: p("externalId"),
                op: CompareOp::Eq,
                value: s("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
            }
        );
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "user@contoso.com""#),
            Filter::ValuePath {
                attr: p("emails"),
                filter: Box::new(Filter::And(vec![
                    Filter::Compare { path: p("emails.type"), op: CompareOp::Eq, value: s("work") },
                    Filter::Compare { path: p("emails.value"), op: CompareOp::Eq, value: s("user@contoso.com") },
                ])),
            }
        );
        // Okta: userName, URL-decoded by the edge.
        assert_eq!(
            parse(r#"userName eq "test.user@okta.local""#),
            Filter::Compare { path: p("userName"), op: CompareOp::Eq, value: s("test.user@okta.local") }
        );
        // Entra's reference check: id and manager.
        assert_eq!(
            parse(r#"id eq "a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1" and manager eq "00aa00aa""#),
            Filter::And(vec![
                Filter::Compare { path: p("id"), op: CompareOp::Eq, value: s("a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1") },
                Filter::Compare { path: p("manager.value"), op: CompareOp::Eq, value: s("00aa00aa") },
            ])
        );
        // Groups: by displayName, and a membership check.
        let group = Filter::parse(r#"displayName eq "displayName""#, GROUP).unwrap();
        assert_eq!(group.to_string(), r#"displayName eq "displayName""#);
        let members = Filter::parse(r#"id eq "g1" and members eq "u1""#, GROUP).unwrap();
        assert_eq!(members.to_string(), r#"id eq "g1" and members.value eq "u1""#);
        let members = Filter::parse(r#"members[value eq "u1"]"#, GROUP).unwrap();
        assert_eq!(members.value_set(), None);
        match members {
            Filter::ValuePath { attr, filter } => {
                assert_eq!(attr.key(), (Schema::Group, "members", None));
                assert_eq!(filter.value_set(), Some(vec!["u1"]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_the_examples_of_rfc_7644() {
        let table = [
            (r#"userName Eq "john""#, r#"userName eq "john""#),
            (r#"name.familyName co "O'Malley""#, r#"name.familyName co "O'Malley""#),
            (r#"userName sw "J""#, r#"userName sw "J""#),
            (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#, r#"userName sw "J""#),
            ("title pr", "title pr"),
            (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, r#"meta.lastModified gt "2011-05-13T04:42:34Z""#),
            (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, r#"meta.lastModified ge "2011-05-13T04:42:34Z""#),
            (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, r#"meta.lastModified lt "2011-05-13T04:42:34Z""#),
            (r#"meta.lastModified le "2011-05-13T06:42:34+02:00""#, r#"meta.lastModified le "2011-05-13T04:42:34Z""#),
            (r#"title pr and userType eq "Employee""#, r#"title pr and userType eq "Employee""#),
            (r#"title pr or userType eq "Intern""#, r#"title pr or userType eq "Intern""#),
            (
                r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
                r#"userType eq "Employee" and (emails.value co "example.com" or emails.value co "example.org")"#,
            ),
            (
                r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
                r#"userType ne "Employee" and not (emails.value co "example.com" or emails.value co "example.org")"#,
            ),
            (
                r#"userType eq "Employee" and (emails.type eq "work")"#,
                r#"userType eq "Employee" and emails.type eq "work""#,
            ),
            (
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            ),
            (
                r#"emails[type eq "work" and value co "@example.com"] or emails[type eq "home" and value co "@example.org"]"#,
                r#"emails[type eq "work" and value co "@example.com"] or emails[type eq "home" and value co "@example.org"]"#,
            ),
            ("active eq TRUE", "active eq true"),
            (r#"externalId eq null"#, "externalId eq null"),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            ),
            (
                r#"USERNAME EQ "a" AND NOT(displayName SW "b") OR title PR"#,
                r#"userName eq "a" and not (displayName sw "b") or title pr"#,
            ),
        ];
        for (input, canonical) in table {
            let filter = parse(input);
            assert_eq!(filter.to_string(), canonical, "{input}");
            assert_eq!(parse(canonical), filter, "{canonical}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = parse(r#"userName eq "a" or userName eq "b" and title pr"#);
        match f {
            Filter::Or(parts) => {
                assert_eq!(parts.len(), 2);
                assert!(matches!(&parts[1], Filter::And(x) if x.len() == 2));
            }
            other => panic!("{other:?}"),
        }
        let f = parse(r#"(userName eq "a" or userName eq "b") and title pr"#);
        assert!(matches!(f, Filter::And(ref parts) if matches!(parts[0], Filter::Or(_))));
        // Chains stay flat, however long.
        let long = vec![r#"userName eq "x""#; 200].join(" or ");
        assert!(matches!(parse(&long), Filter::Or(ref parts) if parts.len() == 200));
    }

    #[test]
    fn string_literals_are_json() {
        let f = parse(r#"displayName eq "a \"quoted\" \\ name \u00e9 \ud83d\ude00 \/""#);
        assert_eq!(
            f,
            Filter::Compare { path: p("displayName"), op: CompareOp::Eq, value: s("a \"quoted\" \\ name é 😀 /") }
        );
        assert_eq!(parse(&f.to_string()), f);
        // Brackets, parentheses and keywords inside strings are text.
        let f = parse(r#"displayName eq "x) or (y [and] not""#);
        assert_eq!(f, Filter::Compare { path: p("displayName"), op: CompareOp::Eq, value: s("x) or (y [and] not") });
    }

    #[test]
    fn errors_say_what_to_fix() {
        let table = [
            ("", "empty"),
            ("   ", "empty"),
            ("userName", "operator such as eq should follow"),
            (r#"userName eqq "a""#, "not an operator"),
            (r#"userName eq"#, "a value should follow"),
            (r#"userName eq jyoung"#, "must be in double quotes"),
            (r#"userName eq "a"#, "no closing"),
            (r#"userName eq "a\x""#, "not a valid JSON string"),
            (r#"userName eq "a\u0000""#, "control character"),
            (r#"userName eq "a" "b""#, "join conditions"),
            (r#"userName eq "a" and"#, "condition should follow"),
            (r#"(userName eq "a""#, "')'"),
            (r#"userName eq "a")"#, "Unexpected ')'"),
            (r#"not userName eq "a""#, "not (…)"),
            (r#"nickName eq "a""#, "no attribute 'nickName'"),
            (r#"urn:example:x:y eq "a""#, "no attribute"),
            (r#"userName eq 12"#, "double quotes"),
            (r#"userName eq 1e"#, "not a number"),
            (r#"userName eq true"#, "double quotes"),
            (r#"active eq "true""#, "without quotes"),
            (r#"active gt true"#, "eq or ne"),
            (r#"userName gt null"#, "Only eq and ne"),
            (r#"name eq "x""#, "has sub-attributes"),
            (r#"meta.lastModified gt "yesterday""#, "2026-01-31T12:00:00Z"),
            (r#"meta.lastModified co "2011""#, "is a date"),
            (r#"emails[foo eq "x"]"#, "no sub-attribute 'foo'"),
            (r#"emails[type eq "work" and emails[value eq "x"]]"#, "cannot nest"),
            (r#"userName[value eq "x"]"#, "no sub-attributes"),
            (r#"userName eq "a" & title pr"#, "cannot appear here"),
            (r#"userName eq ‘a’"#, "cannot appear here"),
            (r#"name.givenName.x eq "a""#, "more than one '.'"),
            (r#"and eq "a""#, "Expected an attribute name"),
        ];
        for (input, expected) in table {
            let detail = error(input);
            assert!(detail.contains(expected), "{input:?}: {detail}");
        }
    }

    #[test]
    fn hostile_filters_are_bounded() {
        let deep = format!("{}userName eq \"a\"{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(error(&deep).contains("bytes long"));
        let deep = format!("{}userName eq \"a\"{}", "(".repeat(100), ")".repeat(100));
        assert!(error(&deep).contains("deeper than 16"));
        let deep = format!("{}userName eq \"a\"{}", "not (".repeat(17), ")".repeat(17));
        assert!(error(&deep).contains("deeper than 16"));
        let ok = format!("{}userName eq \"a\"{}", "not (".repeat(16), ")".repeat(16));
        parse(&ok);
        assert!(error(&format!("userName eq \"{}\"", "x".repeat(MAX_FILTER_LEN))).contains("bytes long"));
        // Bidi overrides and other invisible characters outside strings are refused,
        // and the message escapes them.
        let detail = error("userName\u{202e} eq \"a\"");
        assert!(detail.contains("\\u{202e}"), "{detail}");
        // Inside strings they are data.
        parse("displayName eq \"\u{202e}evil\"");
    }

    #[test]
    fn random_filters_print_and_parse_back() {
        // A small deterministic generator: the printed form of any tree parses back to it.
        let mut seed: u64 = 0x5eed;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        fn leaf(next: &mut impl FnMut(u64) -> u64) -> String {
            let ops = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];
            let texts = [r#""a""#, r#""Ab \" c""#, r#""é\u0041""#, r#""""#];
            match next(6) {
                0 => format!("userName {} {}", ops[next(9) as usize], texts[next(4) as usize]),
                1 => "title pr".into(),
                2 => {
                    format!("active {} {}", ["eq", "ne"][next(2) as usize], ["true", "false", "null"][next(3) as usize])
                }
                3 => format!(
                    r#"meta.lastModified {} "2026-0{}-01T00:00:00Z""#,
                    ["gt", "le"][next(2) as usize],
                    next(9) + 1
                ),
                4 => {
                    format!(r#"emails[type eq "work" and value {} {}]"#, ops[next(5) as usize], texts[next(4) as usize])
                }
                _ => format!(r#"emails.value {} "x@y""#, ops[next(9) as usize]),
            }
        }
        fn tree(depth: u32, next: &mut impl FnMut(u64) -> u64) -> String {
            if depth == 0 {
                return leaf(next);
            }
            match next(4) {
                0 => format!("{} and {}", tree(depth - 1, next), tree(depth - 1, next)),
                1 => format!("{} or {}", tree(depth - 1, next), tree(depth - 1, next)),
                2 => format!("not ({})", tree(depth - 1, next)),
                _ => format!("({})", tree(depth - 1, next)),
            }
        }
        for _ in 0..500 {
            let depth = next(5) as u32;
            let text = tree(depth, &mut next);
            let filter = parse(&text);
            let printed = filter.to_string();
            assert_eq!(parse(&printed), filter, "{text} -> {printed}");
            assert_eq!(parse(&printed).to_string(), printed);
        }
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223",
            "userName": "Bjensen@Example.com",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "displayName": "Babs Jensen",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "manager": {"value": "26118915"}
            },
            "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"}
        })
    }

    #[test]
    fn evaluates_against_a_resource() {
        let user = user();
        let table = [
            (r#"userName eq "bjensen@example.com""#, true),
            (r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#, true),
            (r#"id eq "2819C223""#, false),
            (r#"id eq "2819c223""#, true),
            (r#"userName sw "bjen""#, true),
            (r#"userName ew ".COM""#, true),
            (r#"userName co "@ex""#, true),
            (r#"userName ne "bjensen@example.com""#, false),
            (r#"userName gt "a" and userName lt "c""#, true),
            (r#"displayName pr"#, true),
            (r#"title pr"#, false),
            (r#"title eq null"#, true),
            (r#"title ne null"#, false),
            (r#"title eq "x""#, false),
            (r#"title ne "x""#, false),
            (r#"not (title eq "x")"#, true),
            (r#"active eq true"#, true),
            (r#"active ne true"#, false),
            (r#"emails co "jensen.org""#, true),
            (r#"emails[type eq "work"].value eq "bjensen@example.com""#, true),
            (r#"emails[type eq "home"].value eq "bjensen@example.com""#, false),
            (r#"emails[type eq "work" and primary eq true]"#, true),
            (r#"emails[type eq "home" and primary eq true]"#, false),
            (r#"emails.type eq "home" and emails.primary eq true"#, true),
            (r#"emails[not (type eq "work")]"#, true),
            (r#"emails pr"#, true),
            (r#"name.familyName eq "jensen""#, true),
            (r#"name pr"#, true),
            (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#, true),
            (r#"manager eq "26118915""#, true),
            (r#"manager.value eq "26118915""#, true),
            (r#"department pr"#, false),
            (r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, true),
            (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
            (r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#, true),
            (r#"meta.created lt "2010-01-01T00:00:00Z""#, false),
            (r#"userName eq "x" or (displayName co "babs" and not (active eq false))"#, true),
        ];
        for (text, expected) in table {
            assert_eq!(parse(text).matches(&user), expected, "{text}");
        }
    }

    #[test]
    fn evaluates_on_one_element() {
        let work = json!({"value": "a@b.c", "type": "Work"});
        let inner = |text: &str| match parse(text) {
            Filter::ValuePath { filter, .. } => *filter,
            other => panic!("{other:?}"),
        };
        assert!(inner(r#"emails[type eq "work"]"#).matches_element(&work));
        assert!(!inner(r#"emails[type eq "home"]"#).matches_element(&work));
        assert!(inner(r#"emails[value ew ".C" and not (primary eq true)]"#).matches_element(&work));
        let member = json!({"value": "u1", "type": "User"});
        let f = match Filter::parse(r#"members[value eq "U1"]"#, GROUP).unwrap() {
            Filter::ValuePath { filter, .. } => *filter,
            other => panic!("{other:?}"),
        };
        // members.value is caseExact.
        assert!(!f.matches_element(&member));
    }

    #[test]
    fn helpers_for_patch_and_store() {
        let f = match parse(r#"emails[type eq "work" and primary eq true]"#) {
            Filter::ValuePath { filter, .. } => *filter,
            other => panic!("{other:?}"),
        };
        let eqs = f.equalities().unwrap();
        assert_eq!(eqs.len(), 2);
        assert_eq!(eqs[0].0.key(), (Schema::User, "emails", Some("type")));
        assert!(parse(r#"userName ne "a""#).equalities().is_none());
        let set = Filter::parse(r#"members[value eq "a" or value eq "b" or value eq "c"]"#, GROUP).unwrap();
        let Filter::ValuePath { filter, .. } = set else { panic!() };
        assert_eq!(filter.value_set(), Some(vec!["a", "b", "c"]));
        let mixed = Filter::parse(r#"members[value eq "a" or type eq "Group"]"#, GROUP).unwrap();
        let Filter::ValuePath { filter, .. } = mixed else { panic!() };
        assert_eq!(filter.value_set(), None);

        parse(r#"userName eq "a" and emails[type eq "work"].value eq "b" and meta.lastModified gt "2020-01-01T00:00:00Z""#)
            .check_filterable(USER)
            .unwrap();
        let err = parse(r#"title eq "CEO""#).check_filterable(USER).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidFilter));
        assert!(err.detail().contains("by title"), "{}", err.detail());
        assert!(err.detail().contains("userName, "), "{}", err.detail());
        let mut seen = Vec::new();
        parse(r#"userName eq "a" or emails[type eq "work"]"#).visit_paths(&mut |p| seen.push(p.to_string()));
        assert_eq!(seen, ["userName", "emails.type"]);
    }

    #[test]
    fn patch_paths() {
        let ok = |text: &str| parse_patch_path(text, USER).unwrap_or_else(|e| panic!("{text}: {e}"));
        match ok(r#"emails[type eq "work"].value"#) {
            PatchPath::Attr { path, filter: Some(filter) } => {
                assert_eq!(path.key(), (Schema::User, "emails", Some("value")));
                assert_eq!(filter.to_string(), r#"emails.type eq "work""#);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(ok("name.familyName"), PatchPath::Attr { filter: None, .. }));
        assert!(matches!(
            ok("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            PatchPath::Extension(Schema::EnterpriseUser)
        ));
        assert!(matches!(ok(r#"phoneNumbers[type eq "mobile"].value"#), PatchPath::Ignored(_)));
        assert!(matches!(ok(r#"emails[type eq "work"].display"#), PatchPath::Ignored(_)));
        assert!(matches!(ok("nickName"), PatchPath::Ignored(_)));
        match parse_patch_path(r#"members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]"#, GROUP).unwrap() {
            PatchPath::Attr { path, filter: Some(filter) } => {
                assert_eq!(path.key(), (Schema::Group, "members", None));
                assert_eq!(filter.value_set(), Some(vec!["7f4bc1a3-285e-48ae-8202-5accb43efb0e"]));
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            "",
            "[type eq \"work\"]",
            "emails[",
            "emails[type eq \"work\"",
            "emails[type eq \"work\"] x",
            "emails[type eq \"work\"].value.x",
            "emails[type eq]",
            "userName[value eq \"x\"]",
            "name[givenName eq \"x\"]",
            "phoneNumbers[type eq ]",
            "emails[type eq \"work\"][value eq \"x\"]",
            "userName eq \"x\"",
            "a.b.c",
        ] {
            let err = parse_patch_path(bad, USER).expect_err(bad);
            assert_eq!(err.scim_type(), Some(ScimType::InvalidPath), "{bad}: {err}");
        }
    }
}
