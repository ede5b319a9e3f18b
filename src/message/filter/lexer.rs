//! Tokens of the SQL92 filter language, read on demand as Java's generated token manager reads
//! them: the parser asks for the next token only when its grammar looks at it, so text after
//! the end of the expression is never read (`a = 1 b` compiles as `a = 1`), while a malformed
//! token the grammar does look at is an error.
//!
//! Java's token rules (JavaCC, longest match, keywords before identifiers): whitespace
//! `' ' \t \n \r \f`; `-- …` up to a line end (without one it is two minus signs) and
//! `/* … */` comments; keywords `NOT AND OR BETWEEN IN TRUE FALSE NULL IS` in any case;
//! identifiers `[a-zA-Z_$][a-zA-Z0-9_$]*`; decimals `0` or `[1-9][0-9]*[lL]?`; floating point
//! `d+.d*[e]`, `.d+[e]`, `d+e` with `e` = `[eE][+-]?d+`; strings `'…'` with `''` for a quote;
//! operators `= <> > >= < <= ( , ) + -`.

use super::{Position, SqlError, SqlErrorKind};

/// A token kind, with the text a literal or an identifier carries.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    /// Digits, without the `l`/`L` suffix.
    Decimal(String),
    Float(String),
    /// The string's value (quotes removed, `''` made one quote).
    Str(String),
    Id(String),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    Comma,
    RParen,
    Plus,
    Minus,
    Eof,
}

impl Tok {
    /// How an error message names it.
    pub(super) fn describe(&self) -> String {
        let fixed = match self {
            Tok::Not => "NOT",
            Tok::And => "AND",
            Tok::Or => "OR",
            Tok::Between => "BETWEEN",
            Tok::In => "IN",
            Tok::True => "TRUE",
            Tok::False => "FALSE",
            Tok::Null => "NULL",
            Tok::Is => "IS",
            Tok::Eq => "\"=\"",
            Tok::Ne => "\"<>\"",
            Tok::Gt => "\">\"",
            Tok::Ge => "\">=\"",
            Tok::Lt => "\"<\"",
            Tok::Le => "\"<=\"",
            Tok::LParen => "\"(\"",
            Tok::Comma => "\",\"",
            Tok::RParen => "\")\"",
            Tok::Plus => "\"+\"",
            Tok::Minus => "\"-\"",
            Tok::Eof => "end of expression",
            Tok::Decimal(d) | Tok::Float(d) => return format!("number {d}"),
            Tok::Str(s) => return format!("string '{}'", s.replace('\'', "''")),
            Tok::Id(id) => return format!("property {id}"),
        };
        fixed.to_string()
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) pos: Position,
}

/// Reads tokens from the text on demand.
pub(super) struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    text: &'a str,
    /// Position of the next character.
    pos: Position,
    /// Java's position of the last character read (where it reports the end of the text):
    /// line 0, column 0 before any.
    last: Position,
}

const KEYWORDS: &[(&str, Tok)] = &[
    ("NOT", Tok::Not),
    ("AND", Tok::And),
    ("OR", Tok::Or),
    ("BETWEEN", Tok::Between),
    ("IN", Tok::In),
    ("TRUE", Tok::True),
    ("FALSE", Tok::False),
    ("NULL", Tok::Null),
    ("IS", Tok::Is),
];

impl<'a> Lexer<'a> {
    pub(super) fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            chars: text.char_indices().peekable(),
            text,
            pos: Position { line: 1, column: 1 },
            last: Position { line: 0, column: 0 },
        }
    }

    /// The next token (`Eof` at the end, again and again).
    pub(super) fn next_token(&mut self) -> Result<Token, SqlError> {
        self.skip_blanks_and_comments()?;
        let pos = self.pos;
        let Some(&(start, c)) = self.chars.peek() else {
            return Ok(Token {
                tok: Tok::Eof,
                pos: self.last,
            });
        };
        let tok = match c {
            '\'' => self.string(pos)?,
            '0'..='9' => self.number(start),
            '.' if self.char_after(start).is_some_and(|d| d.is_ascii_digit()) => self.number(start),
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => self.word(start),
            _ => self.operator(c, pos)?,
        };
        Ok(Token { tok, pos })
    }

    fn bump(&mut self) -> Option<char> {
        let (_, c) = self.chars.next()?;
        self.last = self.pos;
        match c {
            '\n' => self.new_line(),
            // "\r\n" ends one line: the '\n' does it.
            '\r' if self.peek_char() != Some('\n') => self.new_line(),
            '\t' => {
                self.pos.column = ((self.pos.column - 1) / 8 + 1) * 8 + 1;
                self.last.column = self.pos.column - 1;
            }
            _ => {
                self.pos.column += c.len_utf16() as u32;
                self.last.column = self.pos.column - 1;
            }
        }
        Some(c)
    }

    fn new_line(&mut self) {
        self.pos.line += 1;
        self.pos.column = 1;
    }

    fn peek_char(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    /// The character after the one at byte `at`.
    fn char_after(&self, at: usize) -> Option<char> {
        let mut rest = self.text[at..].chars();
        rest.next();
        rest.next()
    }

    /// The byte offset of the next character (the text's length at the end).
    fn offset(&mut self) -> usize {
        self.chars.peek().map_or(self.text.len(), |&(i, _)| i)
    }

    fn skip_blanks_and_comments(&mut self) -> Result<(), SqlError> {
        loop {
            match self.peek_char() {
                Some(' ' | '\t' | '\n' | '\r' | '\u{c}') => {
                    self.bump();
                }
                Some('-') if self.rest().starts_with("--") && self.line_comment_ends() => {
                    while !matches!(self.bump(), Some('\n' | '\r') | None) {}
                }
                Some('/') if self.rest().starts_with("/*") => {
                    let pos = self.pos;
                    let Some(len) = self.rest()[2..].find("*/") else {
                        return Err(SqlError {
                            kind: SqlErrorKind::Lexical,
                            position: pos,
                            message: "a comment opened with /* is never closed".into(),
                        });
                    };
                    let end = self.offset() + 2 + len + 2;
                    while self.offset() < end {
                        self.bump();
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn rest(&mut self) -> &'a str {
        let at = self.offset();
        &self.text[at..]
    }

    /// A `--` comment needs a line end; without one, Java reads two minus signs.
    fn line_comment_ends(&mut self) -> bool {
        self.rest().contains(['\n', '\r'])
    }

    fn string(&mut self, pos: Position) -> Result<Tok, SqlError> {
        let start = self.offset();
        let Some(len) = string_len(&self.text[start + 1..]) else {
            return Err(SqlError {
                kind: SqlErrorKind::Lexical,
                position: pos,
                message: "a string opened with ' is never closed".into(),
            });
        };
        let content = &self.text[start + 1..start + len];
        while self.offset() < start + 1 + len {
            self.bump();
        }
        Ok(Tok::Str(content.replace("''", "'")))
    }

    /// The longest of a decimal and a floating-point literal; a tie is a decimal.
    fn number(&mut self, start: usize) -> Tok {
        let text = &self.text[start..];
        let decimal = decimal_len(text);
        let float = float_len(text);
        let (len, tok) = if float > decimal {
            (float, Tok::Float(text[..float].to_string()))
        } else {
            let digits = text[..decimal].trim_end_matches(['l', 'L']);
            (decimal, Tok::Decimal(digits.to_string()))
        };
        while self.offset() < start + len {
            self.bump();
        }
        tok
    }

    fn word(&mut self, start: usize) -> Tok {
        while self
            .peek_char()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        {
            self.bump();
        }
        let end = self.offset();
        let word = &self.text[start..end];
        KEYWORDS
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(word))
            .map_or_else(|| Tok::Id(word.to_string()), |(_, tok)| tok.clone())
    }

    fn operator(&mut self, c: char, pos: Position) -> Result<Tok, SqlError> {
        self.bump();
        let tok = match c {
            '=' => Tok::Eq,
            '>' if self.peek_char() == Some('=') => Tok::Ge,
            '>' => return Ok(Tok::Gt),
            '<' if self.peek_char() == Some('=') => Tok::Le,
            '<' if self.peek_char() == Some('>') => Tok::Ne,
            '<' => return Ok(Tok::Lt),
            '(' => return Ok(Tok::LParen),
            ',' => return Ok(Tok::Comma),
            ')' => return Ok(Tok::RParen),
            '+' => return Ok(Tok::Plus),
            '-' => return Ok(Tok::Minus),
            other => {
                return Err(SqlError {
                    kind: SqlErrorKind::Lexical,
                    position: pos,
                    message: format!("unexpected character {other:?}"),
                });
            }
        };
        if tok != Tok::Eq {
            self.bump();
        }
        Ok(tok)
    }
}

/// Length of a string literal's rest after its opening quote, closing quote included. Java's
/// longest match: `''` is a quote inside the string, but if the string is never closed it ends
/// at the first quote of the last such pair.
fn string_len(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut last_pair = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) != Some(&b'\'') {
                return Some(i + 1);
            }
            last_pair = Some(i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    last_pair
}

fn digits_len(text: &str) -> usize {
    text.bytes().take_while(u8::is_ascii_digit).count()
}

/// Length of the decimal literal at the start of `text`: `0`, or `[1-9][0-9]*` with an
/// optional `l`/`L`.
fn decimal_len(text: &str) -> usize {
    match text.as_bytes().first() {
        Some(b'0') => 1,
        Some(b'1'..=b'9') => {
            let n = digits_len(text);
            n + usize::from(matches!(text.as_bytes().get(n), Some(b'l' | b'L')))
        }
        _ => 0,
    }
}

/// Length of the floating-point literal at the start of `text`, 0 if there is none.
fn float_len(text: &str) -> usize {
    let whole = digits_len(text);
    let exponent = |at: usize| exponent_len(&text[at..]);
    if text.as_bytes().get(whole) == Some(&b'.') {
        let fraction = digits_len(&text[whole + 1..]);
        if whole == 0 && fraction == 0 {
            return 0;
        }
        let end = whole + 1 + fraction;
        end + exponent(end)
    } else if whole > 0 {
        match exponent(whole) {
            0 => 0,
            e => whole + e,
        }
    } else {
        0
    }
}

/// Length of `[eE][+-]?[0-9]+` at the start of `text`, 0 if there is none.
fn exponent_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    if !matches!(bytes.first(), Some(b'e' | b'E')) {
        return 0;
    }
    let sign = usize::from(matches!(bytes.get(1), Some(b'+' | b'-')));
    match digits_len(&text[1 + sign..]) {
        0 => 0,
        n => 1 + sign + n,
    }
}
