//! ARM template language expressions: `[concat(parameters('a'), '-x')]` parsed to a tree.
//!
//! A template string is an expression when it starts with `[` and ends with `]`; a
//! leading `[[` escapes a literal `[` instead. Inside, an expression is a function call,
//! a string in single quotes (`''` is a quote), an integer, or `true`/`false`/`null`,
//! followed by any number of `.property` and `[index]` accessors.

/// A parsed expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    String(String),
    Integer(i64),
    Bool(bool),
    Null,
    Call { function: String, args: Vec<Expr> },
    Property { of: Box<Expr>, name: String },
    Index { of: Box<Expr>, index: Box<Expr> },
}

/// What a template string is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TemplateString<'a> {
    /// A plain string, with a `[[` escape already removed.
    Literal(std::borrow::Cow<'a, str>),
    /// The text between the brackets of `[...]`.
    Expression(&'a str),
}

/// Tells a template string's kind.
pub(crate) fn classify(text: &str) -> TemplateString<'_> {
    if let Some(rest) = text.strip_prefix("[[") {
        return TemplateString::Literal(format!("[{rest}").into());
    }
    match text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(inner) => TemplateString::Expression(inner),
        None => TemplateString::Literal(text.into()),
    }
}

/// Parses the text between the brackets; the error says what is wrong, in ARM's words.
pub(crate) fn parse(text: &str) -> Result<Expr, String> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        at: 0,
    };
    let expr = parser.expression()?;
    parser.skip_space();
    if parser.at < parser.chars.len() {
        return Err(format!(
            "The language expression '{text}' is not valid: the string character '{}' at position '{}' is not expected.",
            parser.chars[parser.at], parser.at
        ));
    }
    Ok(expr)
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        self.skip_space();
        if self.peek() == Some(wanted) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{wanted}'")))
        }
    }

    fn unexpected(&self, wanted: &str) -> String {
        let text: String = self.chars.iter().collect();
        match self.peek() {
            Some(found) => format!(
                "The language expression '{text}' is not valid: expected {wanted} at position '{}' but found '{found}'.",
                self.at
            ),
            None => format!(
                "The language expression '{text}' is not valid: expected {wanted} but the expression ended."
            ),
        }
    }

    fn expression(&mut self) -> Result<Expr, String> {
        let mut expr = self.primary()?;
        loop {
            self.skip_space();
            match self.peek() {
                Some('.') => {
                    self.at += 1;
                    let name = self.identifier()?;
                    expr = Expr::Property {
                        of: Box::new(expr),
                        name,
                    };
                }
                Some('[') => {
                    self.at += 1;
                    let index = self.expression()?;
                    self.expect(']')?;
                    expr = Expr::Index {
                        of: Box::new(expr),
                        index: Box::new(index),
                    };
                }
                _ => return Ok(expr),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        self.skip_space();
        match self.peek() {
            Some('\'') => self.string(),
            Some(c) if c.is_ascii_digit() || c == '-' => self.integer(),
            Some(c) if c.is_alphabetic() || c == '_' => {
                let name = self.identifier()?;
                self.skip_space();
                if self.peek() != Some('(') {
                    return match name.to_ascii_lowercase().as_str() {
                        "true" => Ok(Expr::Bool(true)),
                        "false" => Ok(Expr::Bool(false)),
                        "null" => Ok(Expr::Null),
                        _ => Err(self.unexpected("'('")),
                    };
                }
                self.at += 1;
                let mut args = Vec::new();
                self.skip_space();
                if self.peek() == Some(')') {
                    self.at += 1;
                } else {
                    loop {
                        args.push(self.expression()?);
                        self.skip_space();
                        match self.peek() {
                            Some(',') => self.at += 1,
                            Some(')') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.unexpected("',' or ')'")),
                        }
                    }
                }
                Ok(Expr::Call {
                    function: name,
                    args,
                })
            }
            _ => Err(self.unexpected("a function, a string or a number")),
        }
    }

    fn identifier(&mut self) -> Result<String, String> {
        self.skip_space();
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.unexpected("a name"));
        }
        Ok(self.chars[start..self.at].iter().collect())
    }

    fn string(&mut self) -> Result<Expr, String> {
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.unexpected("a closing quote")),
                Some('\'') if self.chars.get(self.at + 1) == Some(&'\'') => {
                    text.push('\'');
                    self.at += 2;
                }
                Some('\'') => {
                    self.at += 1;
                    return Ok(Expr::String(text));
                }
                Some(c) => {
                    text.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn integer(&mut self) -> Result<Expr, String> {
        let start = self.at;
        if self.peek() == Some('-') {
            self.at += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        text.parse()
            .map(Expr::Integer)
            .map_err(|_| self.unexpected("a number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(function: &str, args: Vec<Expr>) -> Expr {
        Expr::Call {
            function: function.to_owned(),
            args,
        }
    }

    fn string(text: &str) -> Expr {
        Expr::String(text.to_owned())
    }

    #[test]
    fn template_strings_are_literals_escapes_or_expressions() {
        let cases = [
            ("plain", TemplateString::Literal("plain".into())),
            ("[[not]", TemplateString::Literal("[not]".into())),
            ("[f()]", TemplateString::Expression("f()")),
            ("[half", TemplateString::Literal("[half".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(classify(text), expected, "{text}");
        }
    }

    #[test]
    fn expressions_parse_to_trees() {
        let cases = [
            (
                "concat(parameters('a'), '-it''s', 3)",
                call(
                    "concat",
                    vec![
                        call("parameters", vec![string("a")]),
                        string("-it's"),
                        Expr::Integer(3),
                    ],
                ),
            ),
            (
                "reference(resourceId('T/x', 'n'), '2024', 'Full').identity.principalId",
                Expr::Property {
                    of: Box::new(Expr::Property {
                        of: Box::new(call(
                            "reference",
                            vec![
                                call("resourceId", vec![string("T/x"), string("n")]),
                                string("2024"),
                                string("Full"),
                            ],
                        )),
                        name: "identity".to_owned(),
                    }),
                    name: "principalId".to_owned(),
                },
            ),
            (
                " variables('list')[copyIndex()] ",
                Expr::Index {
                    of: Box::new(call("variables", vec![string("list")])),
                    index: Box::new(call("copyIndex", vec![])),
                },
            ),
            (
                "if(true, -1, null)",
                call("if", vec![Expr::Bool(true), Expr::Integer(-1), Expr::Null]),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn malformed_expressions_are_refused() {
        for text in ["concat('a'", "concat('a' 'b')", "'open", "f() g()", "x"] {
            let error = parse(text).expect_err(text);
            assert!(error.contains("is not valid"), "{text}: {error}");
        }
    }
}
