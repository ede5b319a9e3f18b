//! Evaluation over properties: Java's three-valued logic, its conversions, its errors.

use super::{compile, props, truth};

#[test]
fn a_missing_property_makes_comparisons_unknown_and_unknown_never_matches() {
    for text in [
        "a = 'x'",
        "a <> 'x'",
        "a > 1",
        "a BETWEEN 1 AND 2",
        "a NOT BETWEEN 1 AND 2",
        "a IN ('x')",
        "a NOT IN ('x')",
        "NOT (a = 'x')",
        "a",
        "NOT a",
        "NULL",
    ] {
        assert_eq!(truth(text, &[("b", "x")]), None, "{text}");
        assert!(!compile(text).matches(&props(&[("b", "x")])), "{text}");
    }
    assert_eq!(truth("a IS NULL", &[]), Some(true));
    assert_eq!(truth("a IS NOT NULL", &[]), Some(false));
    assert_eq!(truth("a IS NULL", &[("a", "")]), Some(false));
    // False decides AND, true decides OR, whatever the unknown side.
    assert_eq!(truth("a = 'x' AND b = 'y'", &[("b", "z")]), Some(false));
    assert_eq!(truth("a = 'x' OR b = 'y'", &[("b", "y")]), Some(true));
    assert_eq!(truth("a = 'x' OR b = 'y'", &[("b", "z")]), None);
    // Java: two missing properties are equal.
    assert_eq!(truth("a = b", &[]), Some(true));
    assert_eq!(truth("a = b", &[("a", "1")]), Some(false));
}

#[test]
fn a_property_compared_with_a_number_is_read_as_that_numbers_type() {
    let ten = [("a", "10")];
    assert_eq!(truth("a > 9", &ten), Some(true));
    assert_eq!(truth("a > 9.5", &ten), Some(true));
    assert_eq!(truth("a >= 10 AND a <= 10", &ten), Some(true));
    assert_eq!(truth("a = 10", &ten), Some(true));
    assert_eq!(truth("a = 10.0", &ten), Some(true));
    assert_eq!(truth("a <> 11", &ten), Some(true));
    assert_eq!(truth("a < -2", &[("a", "-3")]), Some(true));
    assert_eq!(truth("a = -3", &[("a", "-3")]), Some(true));
    assert_eq!(truth("a = 3", &[("a", "+3")]), Some(true));
    // Strings compare as strings with = and <>.
    assert_eq!(truth("a = '10'", &ten), Some(true));
    assert_eq!(truth("a = '10.0'", &ten), Some(false));
    // A long literal reads the property as a long; an int literal as an int.
    let big = [("a", "3000000000")];
    assert_eq!(truth("a > 2147483648", &big), Some(true));
    assert_eq!(truth("a = 3000000000", &big), Some(true));
    assert!(compile("a > 5").evaluate(&super::props(&big)).is_err());
}

#[test]
fn a_value_that_does_not_read_as_the_number_is_an_error_and_the_message_does_not_match() {
    for (text, value) in [
        ("a > 1", "abc"),
        ("a = 10", "10.0"),
        ("a > 1", ""),
        ("a > 1", " 5"),
        ("a > 1.5", "1,5"),
    ] {
        let sql = compile(text);
        let p = props(&[("a", value)]);
        assert!(sql.evaluate(&p).is_err(), "{text} with a={value:?}");
        assert!(!sql.matches(&p));
    }
    // An error ends the evaluation: the other side of OR is never looked at.
    let sql = compile("a > 1 OR b = 'y'");
    assert!(!sql.matches(&props(&[("a", "abc"), ("b", "y")])));
    // ... unless the left side already decided.
    let sql = compile("b = 'y' OR a > 1");
    assert!(sql.matches(&props(&[("a", "abc"), ("b", "y")])));
    // Double.valueOf trims, Integer.valueOf does not.
    assert_eq!(truth("a > 1.5", &[("a", " 2 ")]), Some(true));
}

#[test]
fn two_properties_order_as_doubles_and_equal_as_strings() {
    let p = [("a", "10"), ("b", "9")];
    assert_eq!(truth("a > b", &p), Some(true), "10 > 9, not '10' < '9'");
    assert_eq!(truth("a = b", &p), Some(false));
    let p = [("a", "1.0"), ("b", "1")];
    assert_eq!(truth("a = b", &p), Some(false));
    assert_eq!(truth("a >= b AND a <= b", &p), Some(true));
    assert!(
        compile("a > b")
            .evaluate(&props(&[("a", "x"), ("b", "1")]))
            .is_err()
    );
}

#[test]
fn booleans_follow_javas_boolean_value_of() {
    assert_eq!(truth("a = TRUE", &[("a", "true")]), Some(true));
    assert_eq!(truth("a = TRUE", &[("a", "TRUE")]), Some(true));
    assert_eq!(truth("a = FALSE", &[("a", "yes")]), Some(true));
    assert_eq!(truth("a = FALSE", &[("a", "true")]), Some(false));
    assert!(
        compile("TRUE = a")
            .evaluate(&props(&[("a", "true")]))
            .is_err()
    );
    // A property as a condition is a string, never TRUE.
    assert_eq!(truth("a", &[("a", "true")]), Some(false));
    assert_eq!(truth("NOT a", &[("a", "true")]), Some(true));
    assert_eq!(truth("TRUE", &[]), Some(true));
    assert_eq!(truth("FALSE OR a IS NULL", &[]), Some(true));
    assert_eq!(truth("1 = TRUE", &[]), Some(false));
}

#[test]
fn between_includes_both_bounds() {
    let text = "a BETWEEN 5 AND 10";
    for (value, want) in [
        ("4", false),
        ("5", true),
        ("7", true),
        ("10", true),
        ("11", false),
    ] {
        assert_eq!(truth(text, &[("a", value)]), Some(want), "a = {value}");
        let not = truth("a NOT BETWEEN 5 AND 10", &[("a", value)]);
        assert_eq!(not, Some(!want), "a = {value}");
    }
    assert_eq!(truth("a BETWEEN -5 AND 5", &[("a", "-5")]), Some(true));
    assert_eq!(truth("a BETWEEN 0.5 AND 1.0", &[("a", "0.75")]), Some(true));
    // An integer bound reads the property as an integer, and 0.75 is not one.
    assert!(
        compile("a BETWEEN 0.5 AND 1")
            .evaluate(&props(&[("a", "0.75")]))
            .is_err()
    );
    assert_eq!(truth("a BETWEEN 5 AND -5", &[("a", "0")]), Some(false));
}

#[test]
fn in_lists_hold_strings_compared_exactly() {
    let text = "a IN ('x', 'y', 'it''s')";
    assert_eq!(truth(text, &[("a", "y")]), Some(true));
    assert_eq!(truth(text, &[("a", "it's")]), Some(true));
    assert_eq!(truth(text, &[("a", "Y")]), Some(false));
    assert_eq!(truth(text, &[("a", "x ")]), Some(false));
    assert_eq!(truth("a NOT IN ('x', 'y')", &[("a", "z")]), Some(true));
    assert_eq!(truth("a NOT IN ('x', 'y')", &[("a", "x")]), Some(false));
    let many = "a IN ('1', '2', '3', '4', '5', '6', '7')";
    assert_eq!(truth(many, &[("a", "6")]), Some(true));
    assert_eq!(truth("a IN ('1')", &[("a", "1.0")]), Some(false));
}

#[test]
fn negation_applies_to_numbers_only() {
    assert_eq!(truth("a > -(-1)", &[("a", "2")]), Some(true));
    // A property is a string: its negation is unknown.
    assert_eq!(truth("-a < 0", &[("a", "5")]), None);
    assert_eq!(
        truth("a = - 2147483648", &[("a", "-2147483648")]),
        Some(true)
    );
}

#[test]
fn the_tag_and_user_properties_are_all_properties() {
    let p = [
        ("TAGS", "TagA"),
        ("KEYS", "k1"),
        ("region", "eu"),
        ("price", "12.5"),
    ];
    let sql = compile("TAGS = 'TagA' AND region IN ('eu', 'us') AND price > 10.0");
    assert!(sql.matches(&props(&p)));
    let sql = compile("(TAGS = 'TagB' OR price < 10.0) AND region = 'eu'");
    assert!(!sql.matches(&props(&p)));
}
