//! Recursive descent over Java's SQL92 selector grammar (`SelectorParser.jj`, RocketMQ 4.9.8),
//! one function per rule, lowest precedence first:
//!
//! ```text
//! selector   := or                                  (the rest of the text is not read)
//! or         := and (OR and)*
//! and        := equality (AND equality)*
//! equality   := comparison ( ("=" | "<>") comparison | IS NULL | IS NOT NULL )*
//! comparison := unary ( (">" | ">=" | "<" | "<=") unary
//!                     | [NOT] BETWEEN unary AND unary
//!                     | [NOT] IN "(" string ("," string)* ")" )*
//! unary      := "+" unary | "-" unary | NOT unary | primary
//! primary    := literal | property | "(" or ")"
//! ```
//!
//! and the checks Java's expression factories make while building: `AND`, `OR`, `NOT` and the
//! whole selector need conditions (a property becomes one); `>`-like comparisons and `BETWEEN`
//! take no string, boolean or NULL literal and no condition; `=` takes no NULL; `TRUE = 5` is
//! refused; `BETWEEN` with two literal bounds needs them in order; `IN` needs a property on its
//! left. Every error names the line and column of the token or operand at fault.

use std::collections::HashSet;

use super::expr::{Expr, Relation};
use super::lexer::{Lexer, Tok, Token};
use super::value::{Literal, compare};
use super::{Position, SqlError, SqlErrorKind};

/// How deep parentheses and prefix operators (`NOT`, `-`, `+`) may nest, and how deep the
/// compiled tree may be; deeper input is refused instead of exhausting the stack.
pub const MAX_DEPTH: u32 = 100;

/// Parses `text`; returns the expression and where unread text starts, if any.
pub(super) fn parse(text: &str) -> Result<(Expr, Option<Position>), SqlError> {
    let mut parser = Parser {
        lexer: Lexer::new(text),
        ahead: Vec::new(),
        nesting: 0,
    };
    let top = parser.or()?;
    let top = as_condition(top)?;
    let next = parser.peek()?;
    let tail = (next.tok != Tok::Eof).then_some(next.pos);
    Ok((top.expr, tail))
}

/// A node under construction: the expression, where it starts, how deep its tree is.
#[derive(Clone)]
struct Node {
    expr: Expr,
    pos: Position,
    depth: u32,
}

impl Node {
    fn leaf(expr: Expr, pos: Position) -> Node {
        Node {
            expr,
            pos,
            depth: 1,
        }
    }

    /// A node one level above children at most `child_depth` deep; refused if too deep.
    fn above(expr: Expr, pos: Position, child_depth: u32) -> Result<Node, SqlError> {
        let depth = child_depth + 1;
        if depth > MAX_DEPTH {
            return Err(error(
                pos,
                format!("the expression nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(Node { expr, pos, depth })
    }

    /// `wrap(self)` one level above this node, starting at `pos`.
    fn wrap(self, pos: Position, wrap: impl FnOnce(Box<Expr>) -> Expr) -> Result<Node, SqlError> {
        Node::above(wrap(Box::new(self.expr)), pos, self.depth)
    }

    fn literal(&self) -> Option<&Option<Literal>> {
        match &self.expr {
            Expr::Constant(literal) => Some(literal),
            _ => None,
        }
    }

    /// How an error message names this operand.
    fn describe(&self) -> String {
        match &self.expr {
            Expr::Constant(Some(literal)) => literal.to_string(),
            Expr::Constant(None) => "NULL".into(),
            Expr::Property(name) => format!("the property {name}"),
            e if e.is_condition() => "a condition".into(),
            _ => "the expression".into(),
        }
    }
}

/// A well-formed expression refused by one of Java's checks.
fn error(position: Position, message: impl Into<String>) -> SqlError {
    SqlError {
        kind: SqlErrorKind::Invalid,
        position,
        message: message.into(),
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// Tokens read but not consumed (at most two: Java looks two tokens ahead).
    ahead: Vec<Token>,
    /// Parentheses and prefix operators open around the current point.
    nesting: u32,
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<&Token, SqlError> {
        self.peek_nth(0)
    }

    fn peek_nth(&mut self, n: usize) -> Result<&Token, SqlError> {
        while self.ahead.len() <= n {
            let token = self.lexer.next_token()?;
            self.ahead.push(token);
        }
        Ok(&self.ahead[n])
    }

    fn next(&mut self) -> Result<Token, SqlError> {
        self.peek()?;
        Ok(self.ahead.remove(0))
    }

    /// Consumes a token of kind `want`, or fails naming what was found instead.
    fn expect(&mut self, want: &Tok, what: &str) -> Result<Token, SqlError> {
        let token = self.next()?;
        if &token.tok == want {
            Ok(token)
        } else {
            Err(unexpected(&token, what))
        }
    }

    fn enter(&mut self, pos: Position) -> Result<(), SqlError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(error(
                pos,
                format!("parentheses and prefix operators nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Node, SqlError> {
        let mut left = self.and()?;
        while self.peek()?.tok == Tok::Or {
            self.next()?;
            let right = self.and()?;
            left = logic(left, right, true)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, SqlError> {
        let mut left = self.equality()?;
        while self.peek()?.tok == Tok::And {
            self.next()?;
            let right = self.equality()?;
            left = logic(left, right, false)?;
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Node, SqlError> {
        let mut left = self.comparison()?;
        loop {
            match self.peek()?.tok {
                Tok::Eq => {
                    self.next()?;
                    let right = self.comparison()?;
                    left = equal(left, right)?;
                }
                Tok::Ne => {
                    self.next()?;
                    let right = self.comparison()?;
                    let pos = left.pos;
                    left = equal(left, right)?.wrap(pos, Expr::Not)?;
                }
                Tok::Is => {
                    self.next()?;
                    let negated = self.peek()?.tok == Tok::Not;
                    if negated {
                        self.next()?;
                    }
                    self.expect(&Tok::Null, "NULL after IS or IS NOT")?;
                    let pos = left.pos;
                    left = left.wrap(pos, Expr::IsNull)?;
                    if negated {
                        left = left.wrap(pos, Expr::Not)?;
                    }
                }
                _ => return Ok(left),
            }
        }
    }

    fn comparison(&mut self) -> Result<Node, SqlError> {
        let mut left = self.unary()?;
        loop {
            let relation = match self.peek()?.tok {
                Tok::Gt => Relation::Greater,
                Tok::Ge => Relation::GreaterOrEqual,
                Tok::Lt => Relation::Less,
                Tok::Le => Relation::LessOrEqual,
                Tok::Between | Tok::In => {
                    left = self.range_or_list(left, false)?;
                    continue;
                }
                // Java looks at the token after NOT only here.
                Tok::Not => {
                    let not = self.peek()?.pos;
                    if !matches!(self.peek_nth(1)?.tok, Tok::Between | Tok::In) {
                        return Err(syntax(
                            not,
                            "unexpected NOT after an operand: only NOT BETWEEN and NOT IN \
                             may follow one (to negate a condition, write NOT (...))",
                        ));
                    }
                    self.next()?;
                    left = self.range_or_list(left, true)?;
                    continue;
                }
                _ => return Ok(left),
            };
            self.next()?;
            let right = self.unary()?;
            left = relate(relation, left, right)?;
        }
    }

    /// At BETWEEN or IN (after NOT when `negated`).
    fn range_or_list(&mut self, left: Node, negated: bool) -> Result<Node, SqlError> {
        if self.next()?.tok == Tok::Between {
            self.between(left, negated)
        } else {
            self.in_list(left, negated)
        }
    }

    /// After `[NOT] BETWEEN`: `low AND high`.
    fn between(&mut self, value: Node, negated: bool) -> Result<Node, SqlError> {
        let low = self.unary()?;
        self.expect(&Tok::And, "AND between the bounds of BETWEEN")?;
        let high = self.unary()?;
        if negated {
            // value < low OR value > high; Java checks no bounds' order here.
            let below = relate(Relation::Less, value.clone(), low)?;
            let above = relate(Relation::Greater, value, high)?;
            return logic(below, above, true);
        }
        if let (Some(l), Some(h)) = (low.literal(), high.literal()) {
            let (Some(l), Some(h)) = (l, h) else {
                return Err(error(low.pos, "the bounds of BETWEEN cannot be NULL"));
            };
            let ordering = compare(h.value(), l.value()).map_err(|e| {
                error(
                    low.pos,
                    format!("the bounds of BETWEEN do not compare: {e}"),
                )
            })?;
            if ordering.is_lt() {
                return Err(error(
                    low.pos,
                    format!("the lower bound of BETWEEN ({l}) is above the upper bound ({h})"),
                ));
            }
        }
        let at_least = relate(Relation::GreaterOrEqual, value.clone(), low)?;
        let at_most = relate(Relation::LessOrEqual, value, high)?;
        logic(at_least, at_most, false)
    }

    /// After `[NOT] IN`: `( 'a', 'b', … )`.
    fn in_list(&mut self, left: Node, negated: bool) -> Result<Node, SqlError> {
        self.expect(&Tok::LParen, "\"(\" after IN")?;
        let mut values = HashSet::new();
        loop {
            let token = self.next()?;
            let Tok::Str(value) = token.tok else {
                return Err(unexpected(&token, "a string in the IN list"));
            };
            values.insert(value);
            let token = self.next()?;
            match token.tok {
                Tok::Comma => {}
                Tok::RParen => break,
                _ => return Err(unexpected(&token, "\",\" or \")\" in the IN list")),
            }
        }
        let Expr::Property(property) = left.expr else {
            return Err(error(
                left.pos,
                format!("IN needs a property on its left, not {}", left.describe()),
            ));
        };
        Ok(Node::leaf(
            Expr::In {
                property,
                values,
                negated,
            },
            left.pos,
        ))
    }

    fn unary(&mut self) -> Result<Node, SqlError> {
        let token = self.peek()?;
        let (tok, pos) = (token.tok.clone(), token.pos);
        if !matches!(tok, Tok::Plus | Tok::Minus | Tok::Not) {
            return self.primary();
        }
        self.next()?;
        self.enter(pos)?;
        let operand = self.unary();
        self.nesting -= 1;
        let operand = match (operand, &tok) {
            // Java looks past "+" for a whole operand first and reports a failure at the "+".
            (Err(e), Tok::Plus) if e.kind == SqlErrorKind::Syntax => {
                return Err(syntax(
                    pos,
                    format!("\"+\" is not followed by an operand ({e})"),
                ));
            }
            (operand, _) => operand?,
        };
        match tok {
            Tok::Plus => Ok(operand),
            Tok::Minus => operand.wrap(pos, Expr::Negate),
            _ => as_condition(operand)?.wrap(pos, Expr::Not),
        }
    }

    fn primary(&mut self) -> Result<Node, SqlError> {
        let token = self.next()?;
        let pos = token.pos;
        let literal = match token.tok {
            Tok::Str(s) => Some(Literal::Str(s)),
            Tok::Decimal(digits) => Some(Literal::decimal(&digits).map_err(|e| error(pos, e))?),
            Tok::Float(text) => Some(Literal::float(&text).map_err(|e| error(pos, e))?),
            Tok::True => Some(Literal::Bool(true)),
            Tok::False => Some(Literal::Bool(false)),
            Tok::Null => None,
            Tok::Id(name) => return Ok(Node::leaf(Expr::Property(name), pos)),
            Tok::LParen => {
                self.enter(pos)?;
                let inner = self.or()?;
                self.nesting -= 1;
                self.expect(&Tok::RParen, "\")\"")?;
                return Ok(inner);
            }
            _ => {
                return Err(unexpected(
                    &token,
                    "a property, a literal, \"(\", \"+\", \"-\" or NOT",
                ));
            }
        };
        Ok(Node::leaf(Expr::Constant(literal), pos))
    }
}

/// A token the grammar does not allow where it is.
fn unexpected(token: &Token, expected: &str) -> SqlError {
    syntax(
        token.pos,
        format!("unexpected {}: expected {expected}", token.tok.describe()),
    )
}

fn syntax(position: Position, message: impl Into<String>) -> SqlError {
    SqlError {
        kind: SqlErrorKind::Syntax,
        position,
        message: message.into(),
    }
}

/// Java's `asBooleanExpression`: a condition stays, a property becomes one, anything else is
/// refused.
fn as_condition(node: Node) -> Result<Node, SqlError> {
    if node.expr.is_condition() {
        return Ok(node);
    }
    if matches!(node.expr, Expr::Property(_)) {
        let pos = node.pos;
        return node.wrap(pos, Expr::BoolCast);
    }
    Err(error(
        node.pos,
        format!(
            "{} is not a condition (a comparison, IN, IS NULL, BETWEEN, TRUE or FALSE)",
            node.describe()
        ),
    ))
}

/// `left AND right` (`or` false) or `left OR right`, flattened into one list.
fn logic(left: Node, right: Node, or: bool) -> Result<Node, SqlError> {
    let (left, right) = (as_condition(left)?, as_condition(right)?);
    let pos = left.pos;
    let mut operands = Vec::new();
    let mut child_depth = 0;
    for node in [left, right] {
        match node.expr {
            Expr::Or(inner) if or => {
                child_depth = child_depth.max(node.depth - 1);
                operands.extend(inner);
            }
            Expr::And(inner) if !or => {
                child_depth = child_depth.max(node.depth - 1);
                operands.extend(inner);
            }
            expr => {
                child_depth = child_depth.max(node.depth);
                operands.push(expr);
            }
        }
    }
    let expr = if or {
        Expr::Or(operands)
    } else {
        Expr::And(operands)
    };
    Node::above(expr, pos, child_depth)
}

/// `left = right`, with Java's operand checks.
fn equal(left: Node, right: Node) -> Result<Node, SqlError> {
    for operand in [&left, &right] {
        if operand.literal() == Some(&None) {
            return Err(error(
                operand.pos,
                "NULL cannot be compared with = or <>: use IS NULL or IS NOT NULL",
            ));
        }
    }
    if let (Some(Some(Literal::Bool(_))), Some(Some(other))) = (left.literal(), right.literal())
        && !matches!(other, Literal::Bool(_))
    {
        return Err(error(
            left.pos,
            format!(
                "{} cannot be compared with {}",
                left.describe(),
                right.describe()
            ),
        ));
    }
    let depth = left.depth.max(right.depth);
    let expr = Expr::Equal(Box::new(left.expr), Box::new(right.expr));
    Node::above(expr, left.pos, depth)
}

/// `left <relation> right`: only numbers, properties and numeric expressions are ordered.
fn relate(relation: Relation, left: Node, right: Node) -> Result<Node, SqlError> {
    for operand in [&left, &right] {
        let refused = match operand.literal() {
            Some(literal) => !literal.as_ref().is_some_and(Literal::is_number),
            None => operand.expr.is_condition(),
        };
        if refused {
            return Err(error(
                operand.pos,
                format!(
                    "{} cannot be compared with {}: only numbers and properties can",
                    operand.describe(),
                    relation.symbol()
                ),
            ));
        }
    }
    let depth = left.depth.max(right.depth);
    let expr = Expr::Compare(relation, Box::new(left.expr), Box::new(right.expr));
    Node::above(expr, left.pos, depth)
}
