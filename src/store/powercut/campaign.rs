//! The seeded campaign runner the power-cut tests share: which seeds run (`POWERCUT_SEED`,
//! `POWERCUT_SEEDS`, or a CI count within a time budget), one failure per seed caught and
//! reported with the seed that replays it, counters printed at the end.

/// Counters a campaign keeps (cuts per kind, operations, ...), printed at its end.
pub(crate) type Tally = std::collections::BTreeMap<String, u64>;

/// A seeded campaign: `POWERCUT_SEED=n` replays seed `n`; `POWERCUT_SEEDS=n` runs `n` seeds
/// with no time limit; otherwise `seeds` seeds run until `budget` is spent (CI). Only seeds
/// `only` accepts are run (a replayed seed always is). A failing seed does not stop the
/// campaign: every failure is printed as `POWERCUT_SEED=<seed> <message>`, and the campaign
/// panics at the end naming them all.
pub(crate) struct Campaign {
    pub(crate) name: &'static str,
    pub(crate) seeds: u64,
    pub(crate) budget: std::time::Duration,
    pub(crate) only: fn(u64) -> bool,
}

impl Campaign {
    pub(crate) fn run(&self, mut one: impl FnMut(u64, &mut Tally)) {
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let env = |key: &str| {
            std::env::var(key)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let name = self.name;
        let started = std::time::Instant::now();
        let (seeds, deadline): (Vec<u64>, _) = match (env("POWERCUT_SEED"), env("POWERCUT_SEEDS")) {
            (Some(seed), _) => (vec![seed], None),
            (None, n) => {
                let n = n.unwrap_or(self.seeds);
                let seeds = (0..).filter(|&s| (self.only)(s)).take(n as usize).collect();
                (seeds, n.eq(&self.seeds).then_some(started + self.budget))
            }
        };
        let mut tally = Tally::new();
        let mut failures = Vec::new();
        let mut ran = 0u64;
        for seed in seeds {
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                eprintln!("powercut {name}: time budget spent after {ran} seeds");
                break;
            }
            ran += 1;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                one(seed, &mut tally);
            }));
            if let Err(payload) = result {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_else(|| "panic".into());
                let msg = msg.replace('\n', " ");
                eprintln!("powercut {name}: VIOLATION POWERCUT_SEED={seed} {msg}");
                failures.push((seed, msg));
            }
        }
        eprintln!(
            "powercut {name}: {ran} seeds in {:.1}s, {} violations; {tally:?}",
            started.elapsed().as_secs_f64(),
            failures.len()
        );
        if let Some((seed, msg)) = failures.first() {
            let seeds: Vec<u64> = failures.iter().map(|f| f.0).collect();
            panic!(
                "{name}: {} of {ran} seeds failed {seeds:?}; first: POWERCUT_SEED={seed} {msg}",
                failures.len()
            );
        }
    }
}
