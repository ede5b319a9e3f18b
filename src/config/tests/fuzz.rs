//! Random input never panics the reader or the config builders, and whatever is accepted
//! prints and reads back to the same config.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::host;
use crate::config::{BrokerConfig, NamesrvConfig, parse_properties};

const KEYS: &[&str] = &[
    "listenPort",
    "brokerName",
    "namesrvAddr",
    "dLegerPeers",
    "dLegerSelfId",
    "enableDLegerCommitLog",
    "mapedFileSizeCommitLog",
    "mappedFileSizeConsumeQueue",
    "maxIndexNum",
    "deleteWhen",
    "diskMaxUsedSpaceRatio",
    "storePathRootDir",
    "flushDiskType",
    "preferredLeaderId",
    "bindAddress",
    "brokerIP1",
    "dledgerPeers",
];
const PIECES: &[&str] = &[
    "=",
    ":",
    " ",
    "\\",
    "\\u00",
    "#",
    "!",
    "\n",
    "\r\n",
    "\t",
    ";",
    "-",
    "n1",
    "n2-",
    "127.0.0.1",
    "[::1]",
    ":40911",
    "true",
    "false",
    "30911",
    "4096",
    "0",
    "-1",
    "99999999999999999999",
    "SYNC_FLUSH",
    " # c",
    "~",
    "\u{e9}",
    "\u{0}",
];

/// Either raw random bytes or random pieces of plausible config text.
fn random_input(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.random_range(0..200);
    if rng.random_bool(0.3) {
        return (0..len).map(|_| rng.random()).collect();
    }
    let mut text = String::new();
    for _ in 0..len / 4 {
        if rng.random_bool(0.2) {
            text.push('\n');
            text.push_str(KEYS[rng.random_range(0..KEYS.len())]);
        }
        text.push_str(PIECES[rng.random_range(0..PIECES.len())]);
    }
    text.into_bytes()
}

#[test]
fn random_input_never_panics_and_accepted_configs_read_back_equal() {
    let seed = std::env::var("CONFIG_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("CONFIG_FUZZ_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut accepted, mut parsed) = (0, 0);
    for _ in 0..3000 {
        let input = random_input(&mut rng);
        let Ok(entries) = parse_properties(&input, Path::new("fuzz.conf")) else {
            continue;
        };
        parsed += 1;
        let _ = NamesrvConfig::from_properties(&entries).map(|(c, _)| c.to_string());
        if let Ok((config, _)) = BrokerConfig::build(&entries, &host()) {
            accepted += 1;
            let printed = config.to_string();
            let again = parse_properties(printed.as_bytes(), Path::new("printed.conf")).unwrap();
            let (reread, _) = BrokerConfig::build(&again, &host()).unwrap_or_else(|e| {
                panic!("seed {seed}: printed config refused:\n{e}\n--\n{printed}")
            });
            assert_eq!(
                reread,
                config,
                "seed {seed}: input {:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
    println!("parsed {parsed}, accepted {accepted} of 3000");
    assert!(parsed > 0 && accepted > 0);
}
