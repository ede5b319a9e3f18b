//! The compiled expression tree and its evaluation, with Java's three-valued logic: every node
//! evaluates to a value, to unknown (Java's `null`: a missing property, or a comparison with
//! one), or to an error (Java's exception), which ends the evaluation.
//!
//! `AND` and `OR` hold their operands in a list: Java's left-nested pairs evaluate the same way
//! (left to right, stopping at the first false, resp. true operand; otherwise unknown if any
//! operand was unknown), and a long chain does not make a deep tree.

use std::cmp::Ordering;
use std::collections::HashSet;

use super::EvalError;
use super::value::{Literal, Value, compare, parse_double};

/// Reads a property of the message under evaluation.
pub(super) type Lookup<'p> = dyn Fn(&str) -> Option<&'p str> + 'p;

/// `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relation {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl Relation {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Greater => ordering.is_gt(),
            Relation::GreaterOrEqual => ordering.is_ge(),
            Relation::Less => ordering.is_lt(),
            Relation::LessOrEqual => ordering.is_le(),
        }
    }

    pub(super) fn symbol(self) -> &'static str {
        match self {
            Relation::Greater => ">",
            Relation::GreaterOrEqual => ">=",
            Relation::Less => "<",
            Relation::LessOrEqual => "<=",
        }
    }
}

/// One node. `Constant(None)` is `NULL`.
#[derive(Debug, Clone)]
pub(super) enum Expr {
    Constant(Option<Literal>),
    Property(String),
    /// Unary minus: numbers negate, anything else is unknown.
    Negate(Box<Expr>),
    Not(Box<Expr>),
    /// A property used as a condition: unknown if missing, else false (it is a string).
    BoolCast(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// `=`; `<>` is `Not(Equal)`.
    Equal(Box<Expr>, Box<Expr>),
    IsNull(Box<Expr>),
    Compare(Relation, Box<Expr>, Box<Expr>),
    In {
        property: String,
        values: HashSet<String>,
        negated: bool,
    },
}

impl Expr {
    /// Whether Java's node is a `BooleanExpression` (a condition, or TRUE / FALSE / NULL).
    pub(super) fn is_condition(&self) -> bool {
        match self {
            Expr::Constant(literal) => matches!(literal, None | Some(Literal::Bool(_))),
            Expr::Property(_) | Expr::Negate(_) => false,
            Expr::Not(_)
            | Expr::BoolCast(_)
            | Expr::And(_)
            | Expr::Or(_)
            | Expr::Equal(..)
            | Expr::IsNull(_)
            | Expr::Compare(..)
            | Expr::In { .. } => true,
        }
    }

    /// The value, unknown (`None`), or Java's exception.
    pub(super) fn eval<'a>(&'a self, props: &Lookup<'a>) -> Result<Option<Value<'a>>, EvalError> {
        Ok(match self {
            Expr::Constant(literal) => literal.as_ref().map(Literal::value),
            Expr::Property(name) => props(name).map(Value::Str),
            Expr::Negate(inner) => match inner.eval(props)? {
                Some(Value::Int(i)) => Some(Value::Int(i.wrapping_neg())),
                Some(Value::Long(l)) => Some(Value::Long(l.wrapping_neg())),
                Some(Value::Double(d)) => Some(Value::Double(-d)),
                Some(Value::Str(_) | Value::Bool(_)) | None => None,
            },
            Expr::BoolCast(inner) => inner
                .eval(props)?
                .map(|v| Value::Bool(matches!(v, Value::Bool(true)))),
            Expr::Not(_) | Expr::And(_) | Expr::Or(_) | Expr::In { .. } => {
                self.truth(props)?.map(Value::Bool)
            }
            Expr::Equal(left, right) => {
                let (l, r) = (left.eval(props)?, right.eval(props)?);
                match (l, r) {
                    (None, None) => Some(Value::Bool(true)),
                    (None, Some(_)) => None,
                    (Some(_), None) => Some(Value::Bool(false)),
                    (Some(l), Some(r)) => Some(Value::Bool(compare(l, r)?.is_eq())),
                }
            }
            Expr::IsNull(inner) => Some(Value::Bool(inner.eval(props)?.is_none())),
            Expr::Compare(relation, left, right) => {
                let Some(l) = left.eval(props)? else {
                    return Ok(None);
                };
                let Some(r) = right.eval(props)? else {
                    return Ok(None);
                };
                let ordering = match (l, r) {
                    // Java refuses to order strings: both are read as numbers.
                    (Value::Str(l), Value::Str(r)) => compare(
                        Value::Double(parse_double(l)?),
                        Value::Double(parse_double(r)?),
                    )?,
                    (l, r) => compare(l, r)?,
                };
                Some(Value::Bool(relation.holds(ordering)))
            }
        })
    }

    /// The node as a condition: true, false or unknown.
    pub(super) fn truth<'a>(&'a self, props: &Lookup<'a>) -> Result<Option<bool>, EvalError> {
        match self {
            Expr::Not(inner) => Ok(inner.truth(props)?.map(|b| !b)),
            Expr::And(operands) => fold(operands, props, false),
            Expr::Or(operands) => fold(operands, props, true),
            Expr::In {
                property,
                values,
                negated,
            } => Ok(props(property).map(|v| values.contains(v) != *negated)),
            _ => match self.eval(props)? {
                None => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(b)),
                // Java casts to Boolean and throws; the parser never builds such a condition.
                Some(other) => Err(EvalError(format!("{other:?} is not a condition"))),
            },
        }
    }
}

/// AND (`decisive` = false) or OR (`decisive` = true): the first operand with the decisive value
/// decides; otherwise unknown if one was unknown, else the other value.
fn fold<'a>(
    operands: &'a [Expr],
    props: &Lookup<'a>,
    decisive: bool,
) -> Result<Option<bool>, EvalError> {
    let mut unknown = false;
    for operand in operands {
        match operand.truth(props)? {
            Some(b) if b == decisive => return Ok(Some(decisive)),
            Some(_) => {}
            None => unknown = true,
        }
    }
    Ok(if unknown { None } else { Some(!decisive) })
}
