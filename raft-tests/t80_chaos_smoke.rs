//! The fault campaign's smoke run (issue 10) inside the README's test command: `dledger-chaos
//! run --smoke --groups 2` with the binaries of this build. Ten faults on group 1 (three leader
//! kills, two pauses, two partitions, a full disk, a torn tail, a whole-group restart) and a
//! leader kill on group 2, while our producers and consumers and the installed third-party
//! producers run; the checker must find nothing. Needs root for network namespaces and tmpfs
//! (CI has it); without root it says so and passes, as nothing else can make those faults.
//! On failure the report, the seed and the kept run directory are in the output.

use std::path::Path;
use std::process::Command;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn the_smoke_campaign_finds_no_violation() {
    if !is_root() {
        println!("skipped: the fault campaign needs root (network namespaces, tmpfs)");
        return;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dledger-broker"))
        .parent()
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let work_dir = work.path().join("run");
    let out = Command::new("timeout")
        .arg("420")
        .arg(env!("CARGO_BIN_EXE_dledger-chaos"))
        .args(["run", "--smoke", "--groups", "2"])
        .arg("--bin-dir")
        .arg(bin_dir)
        .arg("--work-dir")
        .arg(&work_dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    if !out.status.success() {
        // Keep the run's directory for whoever reads the failure.
        let kept = work.keep();
        panic!(
            "the smoke campaign failed ({}); run directory {}\nstderr tail:\n{}",
            out.status,
            kept.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(stdout.contains("PASSED"), "no verdict in the output");
}
