//! Values of the SQL92 filter language and Java's rules for them: how two values of different
//! types compare (`ComparisonExpression.__compare` with string conversion on, as RocketMQ's
//! parser always sets it) and how a property's text is read as a number
//! (`Integer.valueOf`, `Long.valueOf`, `Double.valueOf`, `Boolean.valueOf`).
//!
//! Java's values are boxed objects of a class; here a [`Value`] names the class. Literals
//! produce `Int`, `Long`, `Double`, `Str` and `Bool`; properties are always `Str`; Java's
//! `Float`, `Short` and `Byte` never occur in a selector, so they are absent.

use std::cmp::Ordering;

use super::EvalError;

/// One value during evaluation; strings borrow from the expression or the message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value<'a> {
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

/// A literal of the expression (the owned form of a [`Value`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(String),
}

impl Literal {
    pub(super) fn value(&self) -> Value<'_> {
        match self {
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Int(i) => Value::Int(*i),
            Literal::Long(l) => Value::Long(*l),
            Literal::Double(d) => Value::Double(*d),
            Literal::Str(s) => Value::Str(s),
        }
    }

    /// A decimal literal's digits: an i32 if it fits, else an i64 (Java's `createFromDecimal`).
    pub(super) fn decimal(digits: &str) -> Result<Literal, String> {
        let value: i64 = digits
            .parse()
            .map_err(|_| format!("the number {digits} is out of the 64-bit range"))?;
        Ok(i32::try_from(value).map_or(Literal::Long(value), Literal::Int))
    }

    /// A floating-point literal; Java refuses infinity and anything below its smallest
    /// positive double, which includes zero (`createFloat`).
    pub(super) fn float(text: &str) -> Result<Literal, String> {
        // Rust reads "5." and ".5" but not "5.e3": give such a fraction a digit.
        let normal = match text.split_once('.') {
            Some((whole, fraction)) if !fraction.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("{whole}.0{fraction}")
            }
            _ => text.to_string(),
        };
        let value: f64 = normal
            .parse()
            .map_err(|_| format!("the number {text} cannot be read"))?;
        if value.is_infinite() {
            return Err(format!("the number {text} is above the largest double"));
        }
        if value < f64::from_bits(1) {
            return Err(format!(
                "the number {text} is below the smallest positive double (4.9E-324)"
            ));
        }
        Ok(Literal::Double(value))
    }

    pub(super) fn is_number(&self) -> bool {
        matches!(
            self,
            Literal::Int(_) | Literal::Long(_) | Literal::Double(_)
        )
    }
}

impl std::fmt::Display for Literal {
    /// As it would be written in an expression.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Literal::Bool(true) => f.write_str("TRUE"),
            Literal::Bool(false) => f.write_str("FALSE"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Long(l) => write!(f, "{l}"),
            Literal::Double(d) => write!(f, "{d:?}"),
            Literal::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

/// Java's `__compare(left, right)`: values of one class compare by value; otherwise the left
/// one or the right one is converted to the other's class (a string is parsed, an int widened)
/// where Java converts, and anything else compares as "less" (-1), as Java's fallback does.
pub(super) fn compare(left: Value<'_>, right: Value<'_>) -> Result<Ordering, EvalError> {
    use Value::{Bool, Double, Int, Long, Str};
    Ok(match (left, right) {
        (Bool(l), Bool(r)) => l.cmp(&r),
        (Int(l), Int(r)) => l.cmp(&r),
        (Long(l), Long(r)) => l.cmp(&r),
        (Double(l), Double(r)) => java_double_cmp(l, r),
        (Str(l), Str(r)) => java_string_cmp(l, r),
        // Java casts the Boolean to String here and fails (a ClassCastException).
        (Bool(_), Str(r)) => {
            return Err(EvalError(format!(
                "a condition cannot be compared with the text '{r}'"
            )));
        }
        (Int(l), Long(r)) => i64::from(l).cmp(&r),
        (Long(l), Int(r)) => l.cmp(&i64::from(r)),
        (Int(l), Double(r)) => java_double_cmp(f64::from(l), r),
        (Long(l), Double(r)) => java_double_cmp(l as f64, r),
        (Double(l), Int(r)) => java_double_cmp(l, f64::from(r)),
        (Double(l), Long(r)) => java_double_cmp(l, r as f64),
        (Int(l), Str(r)) => l.cmp(&parse_int(r)?),
        (Long(l), Str(r)) => l.cmp(&parse_long(r)?),
        (Double(l), Str(r)) => java_double_cmp(l, parse_double(r)?),
        (Str(l), Bool(r)) => java_boolean(l).cmp(&r),
        (Str(l), Int(r)) => parse_int(l)?.cmp(&r),
        (Str(l), Long(r)) => parse_long(l)?.cmp(&r),
        (Str(l), Double(r)) => java_double_cmp(parse_double(l)?, r),
        (Int(_) | Long(_) | Double(_), Bool(_)) | (Bool(_), Int(_) | Long(_) | Double(_)) => {
            Ordering::Less
        }
    })
}

/// `Double.compareTo`: a total order, -0.0 below 0.0, every NaN equal and above everything.
fn java_double_cmp(l: f64, r: f64) -> Ordering {
    match (l.is_nan(), r.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => l.total_cmp(&r),
    }
}

/// `String.compareTo`: UTF-16 code units in order.
fn java_string_cmp(l: &str, r: &str) -> Ordering {
    l.encode_utf16().cmp(r.encode_utf16())
}

/// `Boolean.valueOf(String)`: `true` in any case, anything else false.
fn java_boolean(text: &str) -> bool {
    text.eq_ignore_ascii_case("true")
}

fn not_a_number(text: &str, kind: &str) -> EvalError {
    EvalError(format!("'{text}' is not {kind}"))
}

/// `Integer.valueOf(String)`: an optional sign and decimal digits, within i32.
pub(super) fn parse_int(text: &str) -> Result<i32, EvalError> {
    text.parse()
        .map_err(|_| not_a_number(text, "a 32-bit integer"))
}

/// `Long.valueOf(String)`: an optional sign and decimal digits, within i64.
pub(super) fn parse_long(text: &str) -> Result<i64, EvalError> {
    text.parse()
        .map_err(|_| not_a_number(text, "a 64-bit integer"))
}

/// `Double.valueOf(String)`: surrounding whitespace and control characters ignored, an optional
/// sign, then `NaN`, `Infinity`, or decimal digits with an optional point and exponent and an
/// optional `f`/`d` suffix. (Java's hexadecimal form is not read.)
pub(super) fn parse_double(text: &str) -> Result<f64, EvalError> {
    let trimmed = text.trim_matches(|c: char| c <= ' ');
    let fail = || not_a_number(text, "a number");
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let magnitude = match unsigned {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let digits = unsigned
                .strip_suffix(['f', 'F', 'd', 'D'])
                .unwrap_or(unsigned);
            if !is_decimal_number(digits) {
                return Err(fail());
            }
            digits.parse::<f64>().map_err(|_| fail())?
        }
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// `digits [. digits] [e [+-] digits]` or `. digits [e …]`, at least one mantissa digit.
fn is_decimal_number(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok =
        all_digits(whole) && all_digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_read_like_javas_double_value_of() {
        for (text, want) in [
            ("1", 1.0),
            (" 2.5 ", 2.5),
            ("-3", -3.0),
            ("+.5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1.5E-1", 0.15),
            ("7d", 7.0),
            ("7F", 7.0),
            ("-Infinity", f64::NEG_INFINITY),
        ] {
            assert_eq!(parse_double(text), Ok(want), "{text:?}");
        }
        assert!(parse_double("NaN").is_ok_and(f64::is_nan));
        for bad in [
            "", ".", "e5", "1e", "1.2.3", "inf", "nan", "0x10", "1_000", "--1", "1 2",
        ] {
            assert!(parse_double(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn integers_read_like_javas_value_of() {
        assert_eq!(parse_int("+42"), Ok(42));
        assert_eq!(parse_int("-2147483648"), Ok(i32::MIN));
        assert!(parse_int("2147483648").is_err());
        assert!(parse_int(" 1").is_err(), "Integer.valueOf does not trim");
        assert!(parse_int("1.0").is_err());
        assert_eq!(parse_long("2147483648"), Ok(2_147_483_648));
    }

    #[test]
    fn mixed_types_convert_as_java_does() {
        use Value::*;
        assert_eq!(compare(Str("10"), Int(9)), Ok(Ordering::Greater));
        assert_eq!(compare(Int(9), Str("10")), Ok(Ordering::Less));
        assert_eq!(compare(Str("10"), Double(9.5)), Ok(Ordering::Greater));
        assert_eq!(compare(Int(3), Long(3)), Ok(Ordering::Equal));
        assert_eq!(compare(Double(3.0), Int(3)), Ok(Ordering::Equal));
        assert_eq!(compare(Str("TRUE"), Bool(true)), Ok(Ordering::Equal));
        assert_eq!(compare(Str("yes"), Bool(false)), Ok(Ordering::Equal));
        // Java's fallback for classes it does not convert: "less".
        assert_eq!(compare(Int(1), Bool(true)), Ok(Ordering::Less));
        assert_eq!(compare(Bool(true), Int(1)), Ok(Ordering::Less));
        // A string that is not the number it meets is an error, not a verdict.
        assert!(compare(Str("10.5"), Int(10)).is_err());
        assert!(compare(Str("3000000000"), Int(1)).is_err());
        assert!(compare(Bool(true), Str("true")).is_err());
        assert_eq!(compare(Double(-0.0), Double(0.0)), Ok(Ordering::Less));
        assert_eq!(
            compare(Double(f64::NAN), Double(f64::NAN)),
            Ok(Ordering::Equal)
        );
    }
}
