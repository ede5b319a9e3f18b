//! Tests of the SQL92 filter language: `grammar` (what compiles, precedence, errors and their
//! positions, Java's quirks), `evaluation` (unknown values, numbers against strings, BETWEEN
//! bounds, IN lists, evaluation errors) and `fuzz` (no input panics).

use super::{Position, Properties, Sql92, SqlError};

mod evaluation;
mod fuzz;
mod grammar;

/// Properties from `name=value` pairs.
fn props(pairs: &[(&str, &str)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn compile(text: &str) -> Sql92 {
    Sql92::compile(text).unwrap_or_else(|e| panic!("{text:?} does not compile: {e}"))
}

/// The error of an expression that must not compile.
fn refused(text: &str) -> SqlError {
    match Sql92::compile(text) {
        Ok(_) => panic!("{text:?} compiled"),
        Err(e) => e,
    }
}

fn at(line: u32, column: u32) -> Position {
    Position { line, column }
}

/// The truth of `text` over `pairs` (panics on an evaluation error).
fn truth(text: &str, pairs: &[(&str, &str)]) -> Option<bool> {
    compile(text)
        .evaluate(&props(pairs))
        .unwrap_or_else(|e| panic!("{text:?} over {pairs:?}: {e}"))
}
