//! OData `$filter` expressions as Graph's clients send them: comparisons with `eq` and `ne`
//! of a property and a quoted string, joined by `and` and `or`, grouped with parentheses
//! (`decision eq 'Deny' or (recommendation eq 'Deny' and applyResult ne 'New')`).
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
    /// The property equals (`eq`) or differs from (`ne`) the value.
    Compare { property: P, equal: bool, value: String },
}

impl<P> Filter<P> {
    /// The same expression with each comparison's property and value checked and turned
    /// into the caller's type by `check` (e.g. a property with its typed value), which says
    /// what is wrong with one it does not know.
    pub fn map<Q>(self, check: &impl Fn(&P, &str) -> Result<Q, String>) -> Result<Filter<Q>, String> {
        Ok(match self {
            Self::And(all) => Filter::And(all.into_iter().map(|f| f.map(check)).collect::<Result<_, _>>()?),
            Self::Or(any) => Filter::Or(any.into_iter().map(|f| f.map(check)).collect::<Result<_, _>>()?),
            Self::Compare { property, equal, value } => {
                Filter::Compare { property: check(&property, &value)?, equal, value }
            }
        })
    }

    /// Whether an object holds, given how to compare one of its properties with a value.
    pub fn holds(&self, equals: &impl Fn(&P, &str) -> bool) -> bool {
        match self {
            Self::And(all) => all.iter().all(|f| f.holds(equals)),
            Self::Or(any) => any.iter().any(|f| f.holds(equals)),
            Self::Compare { property, equal, value } => equals(property, value) == *equal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
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
            Some(Token::Word(property)) => {
                let equal = match self.next() {
                    Some(Token::Word(op)) if op.eq_ignore_ascii_case("eq") => true,
                    Some(Token::Word(op)) if op.eq_ignore_ascii_case("ne") => false,
                    _ => return Err(format!("after {property}, write eq or ne and a quoted value")),
                };
                let Some(Token::Text(value)) = self.next() else {
                    return Err(format!("compare {property} with a value in single quotes, e.g. '…'"));
                };
                self.comparisons += 1;
                if self.comparisons > MAX_COMPARISONS {
                    return Err(format!("more than {MAX_COMPARISONS} comparisons"));
                }
                Ok(Filter::Compare { property, equal, value })
            }
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
        Filter::Compare { property: p.into(), equal, value: v.into() }
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
        let check = |p: &String, v: &str| match p.as_str() {
            "status" if ["InProgress", "Completed", "Applied"].contains(&v) => Ok(v.to_owned()),
            _ => Err(format!("{p} {v}")),
        };
        let mapped = f.clone().map(&check).unwrap();
        assert!(mapped.holds(&|status, _| status == "Completed"));
        assert!(!mapped.holds(&|status, _| status == "Applied"));
        assert!(parse("status eq 'Nope'").unwrap().map(&check).is_err());
    }
}
