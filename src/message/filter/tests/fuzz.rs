//! Random input never panics the compiler or the evaluator.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::props;
use crate::message::filter::Sql92;

/// Plausible pieces of expressions, and things that are not.
const PIECES: &[&str] = &[
    " ",
    "a",
    "b",
    "TAGS",
    "$x",
    "_",
    "=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "(",
    ")",
    ",",
    "+",
    "-",
    "NOT",
    "not",
    "AND",
    "OR",
    "BETWEEN",
    "IN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "'x'",
    "'",
    "''",
    "'it''s'",
    "0",
    "1",
    "42",
    "2147483648",
    "9223372036854775808",
    "1.5",
    ".5",
    "5.",
    "1e3",
    "1e",
    "0.0",
    "1L",
    "--",
    "\n",
    "\r",
    "\t",
    "/*",
    "*/",
    "#",
    "!",
    ".",
    "\u{e9}",
    "\u{1F600}",
    "\u{0}",
];

fn random_text(rng: &mut StdRng) -> String {
    let len = rng.random_range(0..40);
    if rng.random_bool(0.2) {
        let bytes: Vec<u8> = (0..len * 2).map(|_| rng.random()).collect();
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    (0..len)
        .map(|_| PIECES[rng.random_range(0..PIECES.len())])
        .collect::<Vec<_>>()
        .join(if rng.random_bool(0.5) { " " } else { "" })
}

#[test]
fn random_expressions_never_panic_and_compiled_ones_evaluate() {
    let seed = std::env::var("SQL92_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("SQL92_FUZZ_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let values = [
        "",
        "1",
        "-1",
        "x",
        "true",
        "1.5",
        "2147483648",
        "NaN",
        " 3 ",
    ];
    let (mut compiled, mut matched) = (0, 0);
    for _ in 0..20_000 {
        let text = random_text(&mut rng);
        let Ok(sql) = Sql92::compile(&text) else {
            continue;
        };
        compiled += 1;
        let pick = |rng: &mut StdRng| values[rng.random_range(0..values.len())];
        let p = props(&[("a", pick(&mut rng)), ("b", pick(&mut rng)), ("TAGS", "x")]);
        if sql.matches(&p) {
            matched += 1;
        }
    }
    println!("compiled {compiled}, matched {matched} of 20000");
    assert!(compiled > 100, "seed {seed}: only {compiled} compiled");
    assert!(matched > 0, "seed {seed}: nothing matched");
}
