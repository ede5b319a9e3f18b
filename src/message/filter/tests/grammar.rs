//! What compiles and what does not, with the position of each error.

use super::{at, compile, refused, truth};
use crate::message::filter::{MAX_DEPTH, Sql92, SqlErrorKind};

#[test]
fn every_operator_of_the_4_9_grammar_compiles_in_any_case() {
    for text in [
        "a = 'x'",
        "a <> 'x'",
        "a > 1 AND a >= 1 AND a < 2 AND a <= 2",
        "a BETWEEN 1 AND 5",
        "a NOT BETWEEN -1.5 AND 2e3",
        "a IN ('x', 'y')",
        "a NOT IN ('x')",
        "a IS NULL",
        "a IS NOT NULL",
        "NOT (a = 'x') OR (b = 'y' AND c = 'z')",
        "a = TRUE OR b = FALSE",
        "TRUE",
        "not a is null and b between 1l and 2L or c in ('q')",
        "$x_1 = .5 AND _y = 5. AND z = 1E10",
        "a = 'it''s'",
        "/* leading */ a = 1 -- trailing comment\n",
        "+a > -1",
    ] {
        compile(text);
    }
}

#[test]
fn contains_startswith_and_endswith_are_not_operators_of_the_4_9_grammar() {
    // RocketMQ 5 added them; in 4.9.8 they are property names, and the expression ends before
    // them: `a CONTAINS 'x'` is the condition `a`, which a present property never satisfies.
    let sql = compile("a CONTAINS 'x'");
    assert_eq!(sql.ignored_tail(), Some(at(1, 3)));
    assert_eq!(truth("a CONTAINS 'x'", &[("a", "xyz")]), Some(false));
    assert_eq!(
        compile("STARTSWITH(a, 'x')").ignored_tail(),
        Some(at(1, 11))
    );
}

#[test]
fn and_binds_tighter_than_or_and_not_tighter_than_comparisons() {
    let text = "a = '1' OR b = '1' AND c = '1'";
    assert_eq!(truth(text, &[("a", "1")]), Some(true));
    assert_eq!(
        truth(text, &[("b", "1"), ("c", "2")]),
        None,
        "a unknown, AND false"
    );
    assert_eq!(
        truth(text, &[("a", "2"), ("b", "1"), ("c", "2")]),
        Some(false)
    );
    assert_eq!(
        truth(text, &[("a", "2"), ("b", "1"), ("c", "1")]),
        Some(true)
    );
    // Java's NOT applies to the operand, not the comparison: (NOT a) = 1 is never true.
    assert_eq!(truth("NOT a = 1", &[("a", "2")]), Some(false));
    assert_eq!(truth("NOT (a = 1)", &[("a", "2")]), Some(true));
    assert_eq!(
        truth("NOT a = 1 OR b = 1", &[("a", "1"), ("b", "1")]),
        Some(true)
    );
    assert_eq!(
        truth("(a = '1' OR b = '1') AND c = '1'", &[("a", "1")]),
        None
    );
}

/// Positions are Java's: the token at fault, or the last character read at the end of the text
/// (line 0, column 0 for an empty one).
#[test]
fn syntax_errors_name_the_line_and_column_of_the_token_at_fault() {
    for (text, line, column) in [
        ("a = ", 1, 4),
        ("a = 1 AND", 1, 9),
        ("a == 1", 1, 4),
        ("(a = 1", 1, 6),
        ("a BETWEEN 1 OR 2", 1, 13),
        ("a IN ()", 1, 7),
        ("a IN (1)", 1, 7),
        ("a IN ('x' 'y')", 1, 11),
        ("a NOT LIKE 'x'", 1, 3),
        ("a IS 5", 1, 6),
        ("a IS NOT 5", 1, 10),
        ("a = 1 AND\n  b >", 2, 5),
        ("\ta = =", 1, 13),
        ("a = 1 AND b = #", 1, 15),
        ("a = 'open", 1, 5),
        ("/* open a = 1", 1, 1),
        ("", 0, 0),
        ("   ", 1, 3),
    ] {
        let e = refused(text);
        assert_eq!(e.position, at(line, column), "{text:?}: {e}");
    }
    let e = refused("a = 1 AND b = #");
    assert_eq!(e.to_string(), "line 1, column 15: unexpected character '#'");
    let e = refused("a = ");
    assert_eq!(
        e.to_string(),
        "line 1, column 4: unexpected end of expression: expected a property, a literal, \
         \"(\", \"+\", \"-\" or NOT"
    );
}

#[test]
fn javas_compile_time_checks_are_made_at_the_operand() {
    for (text, column) in [
        ("5", 1),
        ("'x'", 1),
        ("a AND 5", 7),
        ("NOT 'x'", 5),
        ("-a", 1),
        ("a > 'x'", 5),
        ("'1' < a", 1),
        ("a > TRUE", 5),
        ("a >= NULL", 6),
        ("(a = 1) > 0", 2),
        ("a = NULL", 5),
        ("NULL <> a", 1),
        ("TRUE = 5", 1),
        ("a BETWEEN 5 AND 1", 11),
        ("a BETWEEN NULL AND 1", 11),
        ("a BETWEEN 'a' AND 'b'", 11),
        ("'x' IN ('x')", 1),
        ("(a = 1) IN ('x')", 2),
        ("a > 0.0", 5),
        ("a > 1e-400", 5),
        ("a > 1e400", 5),
        ("a > 9223372036854775808", 5),
    ] {
        let e = refused(text);
        assert_eq!(e.position, at(1, column), "{text:?}: {e}");
    }
    // What Java lets through: bounds that are not both literals, booleans on the left of =.
    compile("a BETWEEN 5 AND -1");
    compile("a NOT BETWEEN 5 AND 1");
    compile("1 = TRUE");
    compile("TRUE = FALSE");
    compile("(a) IN ('x')");
    compile("a > 9223372036854775807");
}

#[test]
fn text_after_the_expression_is_not_read_unless_its_first_token_is_malformed() {
    let sql = compile("a = '1' b c");
    assert_eq!(sql.ignored_tail(), Some(at(1, 9)));
    assert_eq!(truth("a = '1' b c", &[("a", "1")]), Some(true));
    // Only the next token is read: what follows it may be anything.
    assert_eq!(compile("a = '1' b #").ignored_tail(), Some(at(1, 9)));
    assert_eq!(compile("a = 1)").ignored_tail(), Some(at(1, 6)));
    // A "--" without a line end is two minus signs, and they end the expression.
    assert_eq!(compile("a = 1 --x").ignored_tail(), Some(at(1, 7)));
    assert_eq!(compile("a = 1 --x\n").ignored_tail(), None);
    assert_eq!(refused("a = '1' #").position, at(1, 9));
    assert_eq!(refused("a = '1' 'open").position, at(1, 9));
    assert_eq!(compile("a = '1'").ignored_tail(), None);
    // JavaCC's longest match: an unclosed string holding '' ends at the first quote of the
    // last pair, and the token after it is read only if the grammar looks at it.
    assert_eq!(compile("b 'x''y").ignored_tail(), Some(at(1, 3)));
    assert_eq!(refused("a = 'x''y").position, at(1, 8));
    assert_eq!(
        truth("a = 'x''y' OR b IS NULL", &[("a", "x'y")]),
        Some(true)
    );
    assert_eq!(compile("a = '1'  \n ").ignored_tail(), None);
}

#[test]
fn positions_count_tabs_to_stops_of_eight_and_astral_characters_twice() {
    assert_eq!(refused("\t\t#").position, at(1, 17));
    assert_eq!(refused("ab\t#").position, at(1, 9));
    assert_eq!(refused("a = '\u{1F600}' #").position, at(1, 10));
    assert_eq!(refused("a = 1\r\n#").position, at(2, 1));
    assert_eq!(refused("a = 1\r#").position, at(2, 1));
}

#[test]
fn nesting_is_bounded_and_long_chains_are_flat() {
    let deep = format!("{}a = 1{}", "(".repeat(200), ")".repeat(200));
    assert!(refused(&deep).message.contains("deeper"));
    let ok = format!(
        "{}a = 1{}",
        "(".repeat(MAX_DEPTH as usize - 1),
        ")".repeat(MAX_DEPTH as usize - 1)
    );
    compile(&ok);
    assert!(
        refused(&format!("{}1 > 0", "- ".repeat(500)))
            .message
            .contains("deeper")
    );
    assert!(
        refused(&format!("{}a", "NOT ".repeat(500)))
            .message
            .contains("deeper")
    );
    let equal_chain = format!("a{}", " = 1".repeat(300));
    assert!(refused(&equal_chain).message.contains("deeper"));
    // Thousands of ANDs and ORs are one flat list each.
    let chain = (0..5000)
        .map(|i| format!("p{i} = '{i}'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = compile(&chain);
    assert!(sql.matches(&super::props(&[("p4999", "4999")])));
    assert!(!sql.matches(&super::props(&[("p1", "2")])));
}

#[test]
fn the_text_is_kept_as_written() {
    let sql = Sql92::compile(" a = 1 ").unwrap();
    assert_eq!(sql.text(), " a = 1 ");
}

#[test]
fn errors_say_their_kind_and_a_plus_without_an_operand_is_reported_at_the_plus() {
    assert_eq!(refused("a = #").kind, SqlErrorKind::Lexical);
    assert_eq!(refused("a = ").kind, SqlErrorKind::Syntax);
    assert_eq!(refused("a > 'x'").kind, SqlErrorKind::Invalid);
    // Java reads ahead for a whole operand after "+" and reports a failure at the "+".
    let e = refused("a > + )");
    assert_eq!(
        (e.kind, e.position),
        (SqlErrorKind::Syntax, at(1, 5)),
        "{e}"
    );
    let e = refused("a > + 'x'");
    assert_eq!(
        (e.kind, e.position),
        (SqlErrorKind::Invalid, at(1, 7)),
        "{e}"
    );
}
