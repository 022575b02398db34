//! OData `$filter` expressions as Graph's clients send them: comparisons with `eq` and `ne`
//! of a property and a quoted string, and `contains(property, 'text')`, joined by `and` and
//! `or`, grouped with parentheses (`decision eq 'Deny' or (recommendation eq 'Deny' and
//! applyResult ne 'New')`, `contains(scope/query, '/groups')`).
//!
//! Parsing is pure and bounded: the text is hostile until read, so its length, the number
//! of comparisons and the depth of parentheses are limited, and every refusal says what to
//! fix. Which properties and values a collection knows is the caller's business
//! ([`Filter::map`]).

/// The longest `$filter` read.
pub const MAX_LENGTH: usize = 2_000;
/// The most comparisons in one `$filter`.
pub const MAX_COMPARISONS: usize = 32;
/// The deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 8;

/// A `$filter` expression over properties `P`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter<P> {
    /// Every one holds.
    And(Vec<Filter<P>>),
    /// At least one holds.
    Or(Vec<Filter<P>>),
    /// The property compared with the value by `op`.
    Compare { property: P, op: Op, value: String },
}

/// How a comparison compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`: equals.
    Eq,
    /// `ne`: differs.
    Ne,
    /// `contains(property, value)`: the text holds the value.
    Contains,
}

impl<P> Filter<P> {
    /// The same expression with each comparison's property, operator and value checked and
    /// turned into the caller's type by `check` (e.g. a property with its typed value), which
    /// says what is wrong with one it does not know.
    pub fn map<Q>(self, check: &impl Fn(&P, Op, &str) -> Result<Q, String>) -> Result<Filter<Q>, String> {
        Ok(match self {
            Self::And(all) => Filter::And(all.into_iter().map(|f| f.map(check)).collect::<Result<_, _>>()?),
            Self::Or(any) => Filter::Or(any.into_iter().map(|f| f.map(check)).collect::<Result<_, _>>()?),
            Self::Compare { property, op, value } => {
                Filter::Compare { property: check(&property, op, &value)?, op, value }
            }
        })
    }

    /// Whether an object holds, given how to test one of its properties against a value
    /// with [`Op::Eq`] or [`Op::Contains`] (`ne` is the negation of `eq`).
    pub fn holds(&self, test: &impl Fn(&P, Op, &str) -> bool) -> bool {
        match self {
            Self::And(all) => all.iter().all(|f| f.holds(test)),
            Self::Or(any) => any.iter().any(|f| f.holds(test)),
            Self::Compare { property, op: Op::Ne, value } => !test(property, Op::Eq, value),
            Self::Compare { property, op, value } => test(property, *op, value),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Comma,
    Word(String),
    Text(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            ',' => {
                chars.next();
                out.push(Token::Comma);
            }
            '\'' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        // A quote is written twice inside a string.
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            value.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => value.push(c),
                        None => return Err(format!("the string '{value} has no closing quote")),
                    }
                }
                out.push(Token::Text(value));
            }
            c if c.is_ascii_alphanumeric() || c == '/' || c == '.' || c == '_' => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '/' || c == '.' || c == '_' {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(word));
            }
            other => return Err(format!("{other:?} cannot be read here")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    comparisons: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn counted(&mut self, comparison: Filter<String>) -> Result<Filter<String>, String> {
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(format!("more than {MAX_COMPARISONS} comparisons"));
        }
        Ok(comparison)
    }

    fn or(&mut self, depth: usize) -> Result<Filter<String>, String> {
        let mut any = vec![self.and(depth)?];
        while self.keyword("or") {
            self.next();
            any.push(self.and(depth)?);
        }
        Ok(if any.len() == 1 { any.remove(0) } else { Filter::Or(any) })
    }

    fn and(&mut self, depth: usize) -> Result<Filter<String>, String> {
        let mut all = vec![self.primary(depth)?];
        while self.keyword("and") {
            self.next();
            all.push(self.primary(depth)?);
        }
        Ok(if all.len() == 1 { all.remove(0) } else { Filter::And(all) })
    }

    fn primary(&mut self, depth: usize) -> Result<Filter<String>, String> {
        match self.next() {
            Some(Token::Open) => {
                if depth >= MAX_DEPTH {
                    return Err(format!("parentheses nest deeper than {MAX_DEPTH}"));
                }
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("a parenthesis is not closed".into()),
                }
            }
            Some(Token::Word(function)) if function.eq_ignore_ascii_case("contains") => {
                let (Some(Token::Open), Some(Token::Word(property)), Some(Token::Comma), Some(Token::Text(value))) =
                    (self.next(), self.next(), self.next(), self.next())
                else {
                    return Err("write contains(property, 'text')".into());
                };
                if self.next() != Some(Token::Close) {
                    return Err("contains takes a property and one quoted text: contains(property, 'text')".into());
                }
                self.counted(Filter::Compare { property, op: Op::Contains, value })
            }
            Some(Token::Word(property)) => {
                let op = match self.next() {
                    Some(Token::Word(op)) if op.eq_ignore_ascii_case("eq") => Op::Eq,
                    Some(Token::Word(op)) if op.eq_ignore_ascii_case("ne") => Op::Ne,
                    _ => return Err(format!("after {property}, write eq or ne and a quoted value")),
                };
                let Some(Token::Text(value)) = self.next() else {
                    return Err(format!("compare {property} with a value in single quotes, e.g. '…'"));
                };
                self.counted(Filter::Compare { property, op, value })
            }
            Some(Token::Comma) => Err("a comma stands only between contains' property and text".into()),
            Some(Token::Close) => Err("a parenthesis closes nothing".into()),
            Some(Token::Text(value)) => Err(format!("'{value}' must follow a property and eq or ne")),
            None => Err("the expression ends too early".into()),
        }
    }
}

/// Parses a `$filter` expression, or says what is wrong with it.
pub fn parse(text: &str) -> Result<Filter<String>, String> {
    if text.len() > MAX_LENGTH {
        return Err(format!("it is longer than {MAX_LENGTH} characters"));
    }
    let mut parser = Parser { tokens: tokens(text)?, at: 0, comparisons: 0 };
    let filter = parser.or(0)?;
    match parser.peek() {
        None => Ok(filter),
        Some(Token::Close) => Err("a parenthesis closes nothing".into()),
        Some(_) => Err("join comparisons with and or or".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(p: &str, equal: bool, v: &str) -> Filter<String> {
        Filter::Compare { property: p.into(), op: if equal { Op::Eq } else { Op::Ne }, value: v.into() }
    }

    #[test]
    fn comparisons_join_with_and_before_or_and_parentheses_group() {
        assert_eq!(parse("decision eq 'Deny'"), Ok(cmp("decision", true, "Deny")));
        assert_eq!(
            parse("decision eq 'Deny' or recommendation eq 'Deny' and applyResult ne 'New'"),
            Ok(Filter::Or(vec![
                cmp("decision", true, "Deny"),
                Filter::And(vec![cmp("recommendation", true, "Deny"), cmp("applyResult", false, "New")]),
            ]))
        );
        assert_eq!(
            parse("(decision eq 'Deny' OR decision eq 'DontKnow') and recommendation eq 'Deny'"),
            Ok(Filter::And(vec![
                Filter::Or(vec![cmp("decision", true, "Deny"), cmp("decision", true, "DontKnow")]),
                cmp("recommendation", true, "Deny"),
            ]))
        );
        assert_eq!(parse("name eq 'O''Brien'"), Ok(cmp("name", true, "O'Brien")));
    }

    #[test]
    fn bad_or_hostile_expressions_are_refused_with_what_to_fix() {
        for bad in [
            "",
            "decision",
            "decision eq Deny",
            "decision gt 'Deny'",
            "decision eq 'Deny' decision eq 'Approve'",
            "(decision eq 'Deny'",
            "decision eq 'Deny')",
            "decision eq 'Deny",
            "startswith(decision,'D')",
            "contains(scope/query)",
            "contains(scope/query, '/groups', 'x')",
            "contains('/groups', scope/query)",
            "decision eq 'Deny', decision eq 'Approve'",
            "decision eq 'a' ; drop table",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was read");
        }
        let deep = format!("{}decision eq 'Deny'{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).unwrap_err().contains("deeper"));
        let many = vec!["decision eq 'Deny'"; MAX_COMPARISONS + 1].join(" or ");
        assert!(parse(&many).unwrap_err().contains("comparisons"));
        assert!(parse(&"x".repeat(MAX_LENGTH + 1)).unwrap_err().contains("longer"));
    }

    #[test]
    fn a_filter_maps_its_properties_and_tells_whether_an_object_holds() {
        let f = parse("status eq 'InProgress' or status eq 'Completed'").unwrap();
        let check = |p: &String, op: Op, v: &str| match p.as_str() {
            "status" if op != Op::Contains && ["InProgress", "Completed", "Applied"].contains(&v) => Ok(v.to_owned()),
            _ => Err(format!("{p} {v}")),
        };
        let mapped = f.clone().map(&check).unwrap();
        assert!(mapped.holds(&|status, _, _| status == "Completed"));
        assert!(!mapped.holds(&|status, _, _| status == "Applied"));
        assert!(parse("status eq 'Nope'").unwrap().map(&check).is_err());
        assert!(parse("contains(status, 'Done')").unwrap().map(&check).is_err());
    }

    #[test]
    fn contains_reads_as_graph_writes_it_and_tests_the_text() {
        let f = parse("contains(scope/query, '/groups') and name ne 'x'").unwrap();
        assert_eq!(
            f,
            Filter::And(vec![
                Filter::Compare { property: "scope/query".into(), op: Op::Contains, value: "/groups".into() },
                cmp("name", false, "x"),
            ])
        );
        let object = |query: &'static str| {
            move |p: &String, op: Op, v: &str| {
                let text = if p == "name" { "y" } else { query };
                if op == Op::Contains { text.contains(v) } else { text == v }
            }
        };
        assert!(f.holds(&object("/groups/1/transitiveMembers")));
        assert!(!f.holds(&object("/servicePrincipals/1/appRoleAssignedTo")));
    }
}
