//! Store benchmark: the commitlog against the raw machine, both measured in the same run.
//!
//! `cargo bench --bench store` (add `-- --quick` for a shorter run). This machine is shared and
//! noisy (2 vCPUs, other builds running), so absolute numbers move by 2x or more within minutes;
//! every figure that matters is therefore a ratio of two measurements taken back to back, rounds
//! interleaved (the order alternates between rounds) and reported as median [min-max].
//!
//! Every record here is what the commitlog stores for a 1 KiB message: a 40-byte header and a
//! 1024-byte RocketMQ-shaped body (TOTALSIZE first, big-endian; QUEUEOFFSET still zero, as before
//! the state machine stamps it), 1064 bytes in all (already 8-aligned).
//!
//! * (a) **raw append, pre-touched**: the floor. Writes the same 1064-byte records (header built
//!   on the stack, then the body) back to back into a 256 MiB file that was `posix_fallocate`d,
//!   mapped shared and pre-touched (one byte written per 4 KiB page through that mapping),
//!   wrapping around until the run is long enough. No page faults, one copy per byte: memory
//!   bandwidth. Also run with a CRC-32 per record (performance.md's `append crc warm` probe),
//!   the least a verified log must add.
//! * (a') **raw append, fresh files**: the same loop into new `posix_fallocate`d 256 MiB files,
//!   one after the other, as the commitlog creates its segments: every 4 KiB page takes its
//!   first-write fault (page-cache allocation, zero fill, ext4 `page_mkwrite`) in the loop.
//! * (a'') **raw append, page cache pre-touched**: the raw twin of (b) below. Each new 256 MiB
//!   file is fallocated, mapped, then filled with zeros by `pwrite` (untimed); the timed loop
//!   writes one full pass through the mapping, which still takes one minor fault per page.
//! * (b) **`CommitLog::append`, page cache pre-touched**: no flush (flush and checkpoint
//!   intervals of one hour), 32 entries per call (a Raft batch) and 1 entry per call. The store
//!   maps its segments privately, so the bench cannot pre-touch *its* mapping as (a) does; the
//!   closest the public API allows: open a fresh log, append entry 1 (creates segment 0), write
//!   the zeros segment 0 already holds over the rest of it with `pwrite` (untimed: the page
//!   cache then holds every page, allocated and dirty), then time appends until segment 0 is
//!   full; repeated with new logs until the timed parts reach the run length. What remains
//!   different from (a) is one minor write fault per 4 KiB page in the store's own mapping.
//! * (b') **`CommitLog::append`, fresh segments**: 32 per call into a fresh log, as in
//!   production without a flush thread running ahead: segments are created inline and every
//!   page is first touched by the append. Its fair reference is (a').
//! * (c) **group commit**: 4 appender threads, each appends 32 entries (indexes handed out
//!   under a bench mutex, like Raft's single IO queue) then waits on `on_durable`. Callbacks
//!   read the checkpoint's durable index, which the flush thread sets before it completes a
//!   group, so distinct values count the msyncs that made new data durable.
//! * (d) **recovery scan**: about 1 GiB (256 MiB with `--quick`) of records appended, flushed
//!   (so no writeback runs later), then the log is dropped without `close`: the abort file
//!   stays and no checkpoint exists, so `CommitLog::open` verifies every record from the first
//!   segment and rebuilds the raft index. Reference: a plain scan of the same segment files
//!   (mapped read-only per pass, walk the records, CRC-32 each, compare with the stored CRC),
//!   page cache warm for both.
//!
//! Method: 7 rounds (3 with `--quick`), each timed run at least 400 ms (200 ms), the group
//! commit runs 1 s (0.4 s); segments and raw files are 256 MiB; every store and file lives in a
//! fresh `tempfile` directory under `std::env::temp_dir()` (`/tmp`, on the same ext4 root as the
//! checkout), removed after its run. Before measuring, 1 GiB (256 MiB) of anonymous memory is
//! touched and freed, so the first fresh-file run does not pay the host's first touch alone.
//!
//! The last line is `ratio append/raw = X.XX`: (b, 32 per call) / (a, pre-touched, no CRC),
//! the median of the per-round ratios. Goals: append/raw >= 0.5; recovery <= 2x the CRC scan.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use dledger_broker::store::{
    CommitLog, CommitLogOptions, HEADER_LEN, NewEntry, RECORD_MAGIC, RecordKind,
};
use memmap2::{Mmap, MmapMut, MmapOptions};

type BenchError = Box<dyn std::error::Error + Send + Sync>;
type BenchResult<T> = Result<T, BenchError>;

/// Message body size.
const BODY_LEN: usize = 1024;
/// Header + body; already a multiple of the record alignment (8).
const RECORD_LEN: usize = HEADER_LEN + BODY_LEN;
const SEGMENT_SIZE: u64 = 256 << 20;
const RAFT_BATCH: usize = 32;
const GROUP_THREADS: usize = 4;
const PAGE: usize = 4096;
/// Goals from performance.md (section 3, G11) and the brief.
const GOAL_APPEND_RAW: f64 = 0.5;
const GOAL_RECOVERY_SCAN: f64 = 2.0;

struct Config {
    quick: bool,
    rounds: usize,
    /// Every timed run lasts at least this long.
    min_run: Duration,
    group_run: Duration,
    recovery_bytes: u64,
    /// Anonymous memory touched and freed once before measuring (host first-touch warm-up).
    warmup_bytes: usize,
}

impl Config {
    fn from_args() -> Config {
        let quick = std::env::args().any(|a| a == "--quick");
        Config {
            quick,
            rounds: if quick { 3 } else { 7 },
            min_run: Duration::from_millis(if quick { 200 } else { 400 }),
            group_run: Duration::from_millis(if quick { 400 } else { 1000 }),
            recovery_bytes: if quick { 256 << 20 } else { 1 << 30 },
            warmup_bytes: if quick { 256 << 20 } else { 1 << 30 },
        }
    }
}

fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Test runners also start bench targets: `cargo nextest run --all-targets` (scripts/test.sh)
    // lists tests with `--list` and expects libtest lines; `cargo test --all-targets` runs the
    // binary without `--bench`. This target holds no tests, and a full run in a debug build
    // takes minutes, so both get nothing; `cargo bench` passes `--bench`.
    if args.iter().any(|a| a == "--list") {
        return Ok(());
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("store benchmark: run it with `cargo bench --bench store [-- --quick]`");
        return Ok(());
    }
    let cfg = Config::from_args();
    let tmp_root = std::env::temp_dir();
    print_machine(&tmp_root, &cfg)?;
    let bodies = message_bodies();

    warm_up_memory(cfg.warmup_bytes);
    let append = bench_append(&cfg, &tmp_root, &bodies)?;
    let group = bench_group(&cfg, &tmp_root, &bodies)?;
    let recovery = bench_recovery(&cfg, &tmp_root, &bodies)?;

    println!(
        "\nload average at the end: {}",
        read_trimmed("/proc/loadavg")
    );
    print_summary(&append, &group, &recovery);
    println!(
        "ratio recovery/crc-scan = {:.2}",
        median(&recovery.ratio_open_scan)
    );
    println!("ratio append/raw = {:.2}", median(&append.ratio_b32_raw));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Records and files

/// Bodies shaped like RocketMQ stored messages: TOTALSIZE (big-endian i32) first, the
/// QUEUEOFFSET field (bytes 20..28) zero as it is before the state machine stamps it, so the
/// store's masked CRC and a plain CRC of the record agree. Several bodies, so the source is not
/// one cache line set.
fn message_bodies() -> Vec<Vec<u8>> {
    (0..RAFT_BATCH)
        .map(|seed| {
            let mut b: Vec<u8> = (0..BODY_LEN).map(|i| (seed + i * 7) as u8).collect();
            b[..4].copy_from_slice(&(BODY_LEN as i32).to_be_bytes());
            b[20..28].fill(0);
            b
        })
        .collect()
}

/// Writes the record the commitlog would write for `body` at `position` into `dst`.
fn put_raw_record(dst: &mut [u8], index: u64, position: u64, body: &[u8], crc: bool) {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
    h[4..8].copy_from_slice(&(RECORD_LEN as u32).to_le_bytes());
    h[8..16].copy_from_slice(&index.to_le_bytes());
    h[16..24].copy_from_slice(&1u64.to_le_bytes());
    h[24..32].copy_from_slice(&position.to_le_bytes());
    h[32] = RecordKind::Message as u8;
    if crc {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&h[..36]);
        hasher.update(body);
        h[36..40].copy_from_slice(&hasher.finalize().to_le_bytes());
    }
    dst[..HEADER_LEN].copy_from_slice(&h);
    dst[HEADER_LEN..RECORD_LEN].copy_from_slice(body);
}

/// Creates `path` with `len` bytes reserved by `posix_fallocate`, as the store creates its
/// segments (minus the fsync and rename), and maps it shared.
#[expect(
    unsafe_code,
    reason = "posix_fallocate and a shared file mapping, like store/segment.rs"
)]
fn create_mapped(path: &Path, len: u64) -> BenchResult<MmapMut> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    let len_t = libc::off_t::try_from(len)?;
    // SAFETY: plain syscall on a descriptor we own; no memory is passed.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len_t) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc).into());
    }
    // SAFETY: the file is private to this bench (fresh temp directory) and nothing truncates it
    // while mapped.
    let map = unsafe {
        MmapOptions::new()
            .len(usize::try_from(len)?)
            .map_mut(&file)?
    };
    Ok(map)
}

/// Maps a segment file read-only.
#[expect(
    unsafe_code,
    reason = "a read-only mapping of a closed commitlog's segment"
)]
fn map_read(path: &Path) -> BenchResult<Mmap> {
    let file = File::open(path)?;
    // SAFETY: the commitlog that wrote the file is closed; nothing writes it during the scan.
    Ok(unsafe { Mmap::map(&file)? })
}

fn options(root: &Path) -> CommitLogOptions {
    CommitLogOptions {
        // No flush and no checkpoint during a measurement unless asked for.
        flush_interval: Duration::from_secs(3600),
        checkpoint_interval: Duration::from_secs(3600),
        ..CommitLogOptions::in_dir(root, SEGMENT_SIZE)
    }
}

fn entries(bodies: &[Vec<u8>], n: usize) -> Vec<NewEntry<'_>> {
    (0..n)
        .map(|k| NewEntry {
            index: 0,
            term: 1,
            kind: RecordKind::Message,
            body: &bodies[k % bodies.len()],
        })
        .collect()
}

fn tempdir(root: &Path) -> BenchResult<tempfile::TempDir> {
    Ok(tempfile::Builder::new()
        .prefix("dledger-bench-")
        .tempdir_in(root)?)
}

// ---------------------------------------------------------------------------------------------
// (a), (a'), (b): append

/// The append measurements, in the order of the first round.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Raw,
    RawCrc,
    RawFresh,
    RawPageCache,
    LogB32,
    LogB1,
    LogB32Fresh,
}

impl Step {
    const ALL: [Step; 7] = [
        Step::Raw,
        Step::RawCrc,
        Step::RawFresh,
        Step::RawPageCache,
        Step::LogB32,
        Step::LogB1,
        Step::LogB32Fresh,
    ];

    fn name(self) -> &'static str {
        match self {
            Step::Raw => "raw",
            Step::RawCrc => "raw-crc",
            Step::RawFresh => "raw-fresh",
            Step::RawPageCache => "raw-pagecache",
            Step::LogB32 => "log-b32",
            Step::LogB1 => "log-b1",
            Step::LogB32Fresh => "log-b32-fresh",
        }
    }
}

/// msgs/s per step (indexed like `Step::ALL`), one value per round, and per-round ratios.
#[derive(Default)]
struct AppendResults {
    rates: [Vec<f64>; 7],
    ratio_b32_raw: Vec<f64>,
    ratio_b1_raw: Vec<f64>,
    ratio_raw_crc: Vec<f64>,
    ratio_b32_raw_crc: Vec<f64>,
    ratio_b32_pagecache: Vec<f64>,
    ratio_b32_fresh: Vec<f64>,
}

impl AppendResults {
    fn of(&self, step: Step) -> &[f64] {
        &self.rates[step as usize]
    }
}

/// A timed rate: messages, seconds.
struct Run {
    msgs: u64,
    secs: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.msgs as f64 / self.secs
    }
}

/// (a): raw records into a pre-touched 256 MiB mapping, wrapping around until `min_run`.
fn raw_pretouched(map: &mut MmapMut, bodies: &[Vec<u8>], crc: bool, min_run: Duration) -> Run {
    let slots = map.len() / RECORD_LEN;
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        for slot in 0..slots {
            let at = slot * RECORD_LEN;
            let body = &bodies[slot % bodies.len()];
            put_raw_record(&mut map[at..at + RECORD_LEN], n, at as u64, body, crc);
            n += 1;
            if n.is_multiple_of(1024) && start.elapsed() >= min_run {
                return Run {
                    msgs: n,
                    secs: start.elapsed().as_secs_f64(),
                };
            }
        }
    }
}

/// (a'): raw records into fresh fallocated files, a new one whenever the current one is full.
fn raw_fresh(dir: &Path, bodies: &[Vec<u8>], min_run: Duration) -> BenchResult<Run> {
    let slots = SEGMENT_SIZE as usize / RECORD_LEN;
    let mut files = 0u64;
    // File 0 is created untimed, as the commitlog's segment 0 is.
    let mut map = create_mapped(&dir.join("raw-0"), SEGMENT_SIZE)?;
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        for slot in 0..slots {
            let at = slot * RECORD_LEN;
            let body = &bodies[slot % bodies.len()];
            put_raw_record(&mut map[at..at + RECORD_LEN], n, at as u64, body, false);
            n += 1;
            if n.is_multiple_of(1024) && start.elapsed() >= min_run {
                return Ok(Run {
                    msgs: n,
                    secs: start.elapsed().as_secs_f64(),
                });
            }
        }
        files += 1;
        map = create_mapped(&dir.join(format!("raw-{files}")), SEGMENT_SIZE)?;
    }
}

/// (a''): raw records into a fresh mapping of a file whose pages `pretouch_file` put in the page
/// cache, one full pass per file: the raw twin of (b), same page state, same minor faults.
fn raw_pagecache(dir: &Path, bodies: &[Vec<u8>], min_run: Duration) -> BenchResult<Run> {
    let slots = SEGMENT_SIZE as usize / RECORD_LEN;
    let mut run = Run { msgs: 0, secs: 0.0 };
    let mut files = 0u64;
    while run.secs < min_run.as_secs_f64() {
        let path = dir.join(format!("raw-pagecache-{files}"));
        files += 1;
        let mut map = create_mapped(&path, SEGMENT_SIZE)?;
        pretouch_file(&path, 0)?;
        let start = Instant::now();
        for slot in 0..slots {
            let at = slot * RECORD_LEN;
            let body = &bodies[slot % bodies.len()];
            put_raw_record(
                &mut map[at..at + RECORD_LEN],
                slot as u64,
                at as u64,
                body,
                false,
            );
        }
        run.secs += start.elapsed().as_secs_f64();
        run.msgs += slots as u64;
        drop(map);
        fs::remove_file(&path)?;
    }
    Ok(run)
}

/// Appends `batch` entries per call, indexes from `*next`, until `stop(next, calls, start)`
/// says so (it reads the clock only when it needs to); returns the elapsed time.
fn append_until(
    log: &CommitLog,
    batch_entries: &mut [NewEntry<'_>],
    next: &mut u64,
    mut stop: impl FnMut(u64, u64, Instant) -> bool,
) -> BenchResult<Duration> {
    let batch = batch_entries.len() as u64;
    let start = Instant::now();
    let mut calls = 0u64;
    loop {
        for (k, e) in batch_entries.iter_mut().enumerate() {
            e.index = *next + k as u64;
        }
        log.append(batch_entries)?;
        *next += batch;
        calls += 1;
        if stop(*next, calls, start) {
            return Ok(start.elapsed());
        }
    }
}

/// Opens a fresh log under `root` and appends entry 1, which creates segment 0 and raft index
/// file 0 outside any timed loop.
fn open_with_first_entry(root: &Path, bodies: &[Vec<u8>]) -> BenchResult<CommitLog> {
    let log = CommitLog::open(options(root))?;
    log.append(&[NewEntry {
        index: 1,
        term: 1,
        kind: RecordKind::Message,
        body: &bodies[0],
    }])?;
    Ok(log)
}

fn check_last(log: &CommitLog, expected: u64) -> BenchResult<()> {
    let last = log.view().last.map(|l| l.index);
    if last != Some(expected) {
        return Err(format!("append: log ends at {last:?}, expected {expected}").into());
    }
    Ok(())
}

/// (b) fresh: `batch` entries per call into a fresh log until `min_run`, crossing into new
/// segments that the store creates inline (no flush thread runs ahead of it).
fn log_append_fresh(
    root: &Path,
    bodies: &[Vec<u8>],
    batch: usize,
    min_run: Duration,
) -> BenchResult<Run> {
    let log = open_with_first_entry(root, bodies)?;
    let mut batch_entries = entries(bodies, batch);
    let mut next = 2u64;
    let check_every = (RAFT_BATCH / batch).max(1) as u64;
    let elapsed = append_until(&log, &mut batch_entries, &mut next, |_, calls, start| {
        calls.is_multiple_of(check_every) && start.elapsed() >= min_run
    })?;
    check_last(&log, next - 1)?;
    // A crash, not a close: close would msync everything appended (seconds of writeback).
    drop(log);
    Ok(Run {
        msgs: next - 2,
        secs: elapsed.as_secs_f64(),
    })
}

/// Pulls `[from, end)` of a segment file into the page cache, dirty and allocated, by writing
/// the zeros it already holds (the bytes past the log's end are zero, and nothing appends
/// meanwhile). The store maps its segments privately, so this is as close to (a)'s pre-touch
/// as the public API allows: the store's own page tables still fault, once per 4 KiB page.
fn pretouch_file(path: &Path, from: u64) -> BenchResult<()> {
    use std::os::unix::fs::FileExt;
    let file = OpenOptions::new().write(true).open(path)?;
    let len = file.metadata()?.len();
    let zeros = vec![0u8; 1 << 20];
    let mut at = from;
    while at < len {
        let n = (len - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// (b) pre-touched: fills segment 0 of a fresh log, pre-touched by `pretouch_file`, with
/// `batch` entries per call; repeated with new logs until the timed parts reach `min_run`.
fn log_append_pretouched(
    tmp_root: &Path,
    bodies: &[Vec<u8>],
    batch: usize,
    min_run: Duration,
) -> BenchResult<Run> {
    // Raft index of the last record that fits in segment 0 (entry 1 is at position 0).
    let last_fit = SEGMENT_SIZE / RECORD_LEN as u64;
    let mut run = Run { msgs: 0, secs: 0.0 };
    while run.secs < min_run.as_secs_f64() {
        let dir = tempdir(tmp_root)?;
        let log = open_with_first_entry(dir.path(), bodies)?;
        let segments = log.segments();
        let [(_, segment0)] = segments.as_slice() else {
            return Err(format!("expected one segment, found {}", segments.len()).into());
        };
        pretouch_file(segment0, PAGE as u64)?;
        let mut batch_entries = entries(bodies, batch);
        let mut next = 2u64;
        let b = batch as u64;
        let elapsed = append_until(&log, &mut batch_entries, &mut next, |next, _, _| {
            next + b - 1 > last_fit
        })?;
        check_last(&log, next - 1)?;
        if log.segments().len() != 1 {
            return Err("pre-touched run spilled into a second segment".into());
        }
        drop(log);
        dir.close()?;
        run.msgs += next - 2;
        run.secs += elapsed.as_secs_f64();
    }
    Ok(run)
}

fn bench_append(cfg: &Config, tmp_root: &Path, bodies: &[Vec<u8>]) -> BenchResult<AppendResults> {
    println!("\n== (a) raw append vs (b) CommitLog::append, 1 KiB messages, no flush");
    println!(
        "   {} rounds, each run >= {} ms; segment and raw file size {} MiB; order alternates per round",
        cfg.rounds,
        cfg.min_run.as_millis(),
        SEGMENT_SIZE >> 20
    );
    let raw_dir = tempdir(tmp_root)?;
    let mut warm = create_mapped(&raw_dir.path().join("pretouched"), SEGMENT_SIZE)?;
    for page in warm.chunks_mut(PAGE) {
        page[0] = 0;
    }
    let mut r = AppendResults::default();
    for round in 0..cfg.rounds {
        let mut steps = Step::ALL;
        if round % 2 == 1 {
            steps.reverse();
        }
        let mut line = format!("   round {round}:");
        for step in steps {
            let run = match step {
                Step::Raw => raw_pretouched(&mut warm, bodies, false, cfg.min_run),
                Step::RawCrc => raw_pretouched(&mut warm, bodies, true, cfg.min_run),
                Step::RawPageCache => {
                    let dir = tempdir(tmp_root)?;
                    let run = raw_pagecache(dir.path(), bodies, cfg.min_run)?;
                    dir.close()?;
                    run
                }
                Step::RawFresh => {
                    let dir = tempdir(tmp_root)?;
                    let run = raw_fresh(dir.path(), bodies, cfg.min_run)?;
                    dir.close()?;
                    run
                }
                Step::LogB32 => log_append_pretouched(tmp_root, bodies, RAFT_BATCH, cfg.min_run)?,
                Step::LogB1 => log_append_pretouched(tmp_root, bodies, 1, cfg.min_run)?,
                Step::LogB32Fresh => {
                    let dir = tempdir(tmp_root)?;
                    let run = log_append_fresh(dir.path(), bodies, RAFT_BATCH, cfg.min_run)?;
                    dir.close()?;
                    run
                }
            };
            line.push_str(&format!(
                " {} {} ({} ms)",
                step.name(),
                fmt_rate(run.rate()),
                (run.secs * 1e3).round()
            ));
            r.rates[step as usize].push(run.rate());
        }
        println!("{line}");
        let last = |step: Step| r.of(step)[round];
        let ratios = [
            last(Step::LogB32) / last(Step::Raw),
            last(Step::LogB1) / last(Step::Raw),
            last(Step::RawCrc) / last(Step::Raw),
            last(Step::LogB32Fresh) / last(Step::RawFresh),
            last(Step::LogB32) / last(Step::RawCrc),
            last(Step::LogB32) / last(Step::RawPageCache),
        ];
        r.ratio_b32_raw.push(ratios[0]);
        r.ratio_b1_raw.push(ratios[1]);
        r.ratio_raw_crc.push(ratios[2]);
        r.ratio_b32_fresh.push(ratios[3]);
        r.ratio_b32_raw_crc.push(ratios[4]);
        r.ratio_b32_pagecache.push(ratios[5]);
    }
    drop(warm);
    raw_dir.close()?;
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// (c): group commit

#[derive(Default)]
struct GroupResults {
    rate: Vec<f64>,
    flushes_per_s: Vec<f64>,
    msgs_per_flush: Vec<f64>,
    wait_p50_us: Vec<f64>,
    wait_p99_us: Vec<f64>,
}

struct ThreadStats {
    msgs: u64,
    points: Vec<u64>,
    waits_us: Vec<f64>,
}

fn group_thread(
    log: &Arc<CommitLog>,
    next_index: &Mutex<u64>,
    bodies: &[Vec<u8>],
    start: Instant,
    run: Duration,
) -> BenchResult<ThreadStats> {
    let mut batch = entries(bodies, RAFT_BATCH);
    let (tx, rx) = mpsc::sync_channel::<(bool, Option<u64>)>(1);
    let mut stats = ThreadStats {
        msgs: 0,
        points: Vec::new(),
        waits_us: Vec::new(),
    };
    while start.elapsed() < run {
        {
            let mut next = next_index.lock().unwrap_or_else(PoisonError::into_inner);
            for (k, e) in batch.iter_mut().enumerate() {
                e.index = *next + k as u64;
            }
            log.append(&batch)?;
            *next += RAFT_BATCH as u64;
        }
        let appended = Instant::now();
        let weak = Arc::downgrade(log);
        let tx = tx.clone();
        log.on_durable(Box::new(move |result| {
            // The flush thread set the checkpoint's durable point just before this group's
            // callbacks; the temporary strong reference ends before the waiter wakes.
            let point = weak
                .upgrade()
                .and_then(|l| l.checkpoint().durable)
                .map(|p| p.index);
            let _ = tx.send((result.is_ok(), point));
        }));
        let (ok, point) = rx.recv()?;
        if !ok {
            return Err("group commit: flush failed".into());
        }
        stats.waits_us.push(appended.elapsed().as_secs_f64() * 1e6);
        stats.points.extend(point);
        stats.msgs += RAFT_BATCH as u64;
    }
    Ok(stats)
}

fn bench_group(cfg: &Config, tmp_root: &Path, bodies: &[Vec<u8>]) -> BenchResult<GroupResults> {
    println!(
        "\n== (c) group commit: {GROUP_THREADS} threads x (append {RAFT_BATCH} x 1 KiB, wait on_durable)"
    );
    println!(
        "   {} runs of {} ms; flush interval 500 ms and checkpoint interval 1 s (defaults)",
        cfg.rounds,
        cfg.group_run.as_millis()
    );
    let mut r = GroupResults::default();
    for round in 0..cfg.rounds {
        let dir = tempdir(tmp_root)?;
        let log = Arc::new(CommitLog::open(CommitLogOptions::in_dir(
            dir.path(),
            SEGMENT_SIZE,
        ))?);
        log.append(&[NewEntry {
            index: 1,
            term: 1,
            kind: RecordKind::Message,
            body: &bodies[0],
        }])?;
        log.flush()?;
        let next_index = Mutex::new(2u64);
        let start = Instant::now();
        let results: Vec<BenchResult<ThreadStats>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..GROUP_THREADS)
                .map(|_| s.spawn(|| group_thread(&log, &next_index, bodies, start, cfg.group_run)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("appender panicked".into())))
                .collect()
        });
        let secs = start.elapsed().as_secs_f64();
        let mut msgs = 0u64;
        let mut points = BTreeSet::new();
        let mut waits = Vec::new();
        for stats in results {
            let stats = stats?;
            msgs += stats.msgs;
            points.extend(stats.points);
            waits.extend(stats.waits_us);
        }
        let flushes = points.len().max(1) as f64;
        r.rate.push(msgs as f64 / secs);
        r.flushes_per_s.push(flushes / secs);
        r.msgs_per_flush.push(msgs as f64 / flushes);
        r.wait_p50_us.push(percentile(&mut waits, 0.50));
        r.wait_p99_us.push(percentile(&mut waits, 0.99));
        println!(
            "   run {round}: {} msgs/s, {:.0} flushes/s, {:.1} msgs/flush, wait p50 {:.0} us p99 {:.0} us ({:.0} ms)",
            fmt_rate(msgs as f64 / secs),
            flushes / secs,
            msgs as f64 / flushes,
            r.wait_p50_us[round],
            r.wait_p99_us[round],
            secs * 1e3
        );
        let log = Arc::try_unwrap(log).map_err(|_| "log still shared after the run")?;
        log.close()?;
        dir.close()?;
    }
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// (d): recovery

#[derive(Default)]
struct RecoveryResults {
    gib: f64,
    open_s_per_gib: Vec<f64>,
    scan_s_per_gib: Vec<f64>,
    ratio_open_scan: Vec<f64>,
}

fn segment_files(dir: &Path) -> BenchResult<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// One pass of the plain scan: map each segment, walk its records, CRC each and compare.
/// Returns the number of valid records.
fn crc_scan(files: &[PathBuf]) -> BenchResult<u64> {
    let mut records = 0u64;
    for path in files {
        let map = map_read(path)?;
        let mut off = 0usize;
        while off + HEADER_LEN <= map.len() {
            let h = &map[off..off + HEADER_LEN];
            if le_u32(h, 0) != RECORD_MAGIC {
                break; // zeros at the end of the log, or the pad marker at a segment end
            }
            let len = le_u32(h, 4) as usize;
            let Some(body) = map.get(off + HEADER_LEN..off + len) else {
                return Err(
                    format!("{}: record at {off} runs past the end", path.display()).into(),
                );
            };
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&h[..36]);
            hasher.update(body);
            if hasher.finalize() != le_u32(h, 36) {
                return Err(format!("{}: crc mismatch at {off}", path.display()).into());
            }
            records += 1;
            off += len.div_ceil(8) * 8;
        }
    }
    Ok(records)
}

/// Repeats `op` until the timed parts add up to `min_run`; returns seconds per repetition.
fn repeat_timed(
    min_run: Duration,
    mut op: impl FnMut() -> BenchResult<Duration>,
) -> BenchResult<(f64, u32)> {
    let mut total = Duration::ZERO;
    let mut reps = 0u32;
    while total < min_run {
        total += op()?;
        reps += 1;
    }
    Ok((total.as_secs_f64() / f64::from(reps), reps))
}

fn bench_recovery(
    cfg: &Config,
    tmp_root: &Path,
    bodies: &[Vec<u8>],
) -> BenchResult<RecoveryResults> {
    let n = cfg.recovery_bytes / RECORD_LEN as u64;
    let bytes = n * RECORD_LEN as u64;
    let gib = bytes as f64 / f64::from(1u32 << 30);
    println!(
        "\n== (d) recovery: {n} records ({gib:.3} GiB) in {} MiB segments, crash without close",
        SEGMENT_SIZE >> 20
    );
    let dir = tempdir(tmp_root)?;
    let opts = options(dir.path());
    {
        let log = CommitLog::open(opts.clone())?;
        let mut batch = entries(bodies, RAFT_BATCH);
        let started = Instant::now();
        let mut next = 1u64;
        while next <= n {
            let take = RAFT_BATCH.min((n - next + 1) as usize);
            for (k, e) in batch[..take].iter_mut().enumerate() {
                e.index = next + k as u64;
            }
            log.append(&batch[..take])?;
            next += take as u64;
        }
        let wrote = started.elapsed();
        let started = Instant::now();
        log.flush()?;
        println!(
            "   write: {} msgs/s (32 per call, into fresh segments); flush (msync) of it: {:.2} s",
            fmt_rate(n as f64 / wrote.as_secs_f64()),
            started.elapsed().as_secs_f64()
        );
        // Crash: the flush thread stops without a final flush, nothing else is written.
    }
    if !opts.abort_path.exists() || opts.checkpoint_path.exists() {
        return Err("crash setup: expected an abort file and no checkpoint".into());
    }
    // Warm-up open and scan (untimed): the first open also deletes the spare segment the flush
    // thread prepared ahead, so every timed pass sees the same files; the page cache holds
    // everything, and both sides start equal.
    drop(CommitLog::open(opts.clone())?);
    let files = segment_files(&opts.dir)?;
    let found = crc_scan(&files)?;
    if found != n {
        return Err(format!("crc scan found {found} records, wrote {n}").into());
    }
    println!(
        "   {} rounds, each run >= {} ms (several passes or opens when one is shorter)",
        cfg.rounds,
        cfg.min_run.as_millis()
    );
    let mut r = RecoveryResults {
        gib,
        ..RecoveryResults::default()
    };
    for round in 0..cfg.rounds {
        let mut scan = || -> BenchResult<Duration> {
            let t = Instant::now();
            let found = crc_scan(&files)?;
            let dt = t.elapsed();
            if found != n {
                return Err(format!("crc scan found {found} records, wrote {n}").into());
            }
            Ok(dt)
        };
        let mut open = || -> BenchResult<Duration> {
            let t = Instant::now();
            let log = CommitLog::open(opts.clone())?;
            let dt = t.elapsed();
            let last = log.view().last.map(|l| l.index);
            if last != Some(n) {
                return Err(format!("recovered up to {last:?}, wrote {n}").into());
            }
            // Crash again: the next open does the same full scan.
            drop(log);
            Ok(dt)
        };
        let ((scan_s, scan_reps), (open_s, open_reps)) = if round % 2 == 0 {
            let s = repeat_timed(cfg.min_run, &mut scan)?;
            (s, repeat_timed(cfg.min_run, &mut open)?)
        } else {
            let o = repeat_timed(cfg.min_run, &mut open)?;
            (repeat_timed(cfg.min_run, &mut scan)?, o)
        };
        r.scan_s_per_gib.push(scan_s / gib);
        r.open_s_per_gib.push(open_s / gib);
        r.ratio_open_scan.push(open_s / scan_s);
        println!(
            "   round {round}: crc-scan {:.3} s/GiB (x{scan_reps}), open {:.3} s/GiB (x{open_reps}), ratio {:.2}",
            scan_s / gib,
            open_s / gib,
            open_s / scan_s
        );
    }
    dir.close()?;
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// Machine facts, statistics, report

fn read_trimmed(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("({path}: {e})"))
}

/// Filesystem type and device of the mount holding `path`, from /proc/mounts.
fn filesystem_of(path: &Path) -> String {
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mounts = fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && path.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} on {} ({})", f[2], f[0], f[1])))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".into(), |(_, s)| s)
}

/// `YYYY-MM-DD HH:MM:SS UTC`, from the crate's calendar (`common::clock`).
fn utc_now() -> String {
    use dledger_broker::common::clock::{DAY_MS, civil_from_days, now_ms};
    let ms = now_ms();
    let (days, rem) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS) / 1000);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn print_machine(tmp_root: &Path, cfg: &Config) -> BenchResult<()> {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let mem = read_trimmed("/proc/meminfo")
        .lines()
        .next()
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    println!(
        "dledger-broker store benchmark{}",
        if cfg.quick { " (--quick)" } else { "" }
    );
    println!("date:        {}", utc_now());
    println!("nproc:       {cpus}");
    println!("memory:      {mem}");
    println!("kernel:      {}", read_trimmed("/proc/version"));
    println!("loadavg:     {}", read_trimmed("/proc/loadavg"));
    println!(
        "temp dir:    {} ({})",
        tmp_root.display(),
        filesystem_of(tmp_root)
    );
    println!(
        "build:       {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimized (bench profile)"
        }
    );
    Ok(())
}

/// Touches and frees anonymous memory once, so the first measurement does not pay the host's
/// first-touch cost alone (performance.md section 4, step 2).
fn warm_up_memory(bytes: usize) {
    let t = Instant::now();
    let v = vec![1u8; bytes];
    std::hint::black_box(&v);
    drop(v);
    println!(
        "warm-up:     touched and freed {} MiB of memory in {} ms",
        bytes >> 20,
        t.elapsed().as_millis()
    );
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i]
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// One summary line: name, per-round values, number format, unit, note (the goal).
type Row<'a> = (&'a str, &'a [f64], fn(f64) -> String, &'a str, &'a str);

fn row(name: &str, v: &[f64], fmt: fn(f64) -> String, unit: &str, note: &str) {
    let (lo, hi) = min_max(v);
    println!(
        "{name:<44} {:>9} [{:>9} - {:>9}] {unit:<9} {note}",
        fmt(median(v)),
        fmt(lo),
        fmt(hi)
    );
}

fn print_summary(a: &AppendResults, g: &GroupResults, r: &RecoveryResults) {
    let f0: fn(f64) -> String = |x| format!("{x:.0}");
    let f1: fn(f64) -> String = |x| format!("{x:.1}");
    let f2: fn(f64) -> String = |x| format!("{x:.2}");
    let f3: fn(f64) -> String = |x| format!("{x:.3}");
    let rate: fn(f64) -> String = fmt_rate;
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let append_raw = median(&a.ratio_b32_raw);
    let recovery = median(&r.ratio_open_scan);
    let goal_append = format!(
        "goal >= {GOAL_APPEND_RAW:.1}: {}",
        verdict(append_raw >= GOAL_APPEND_RAW)
    );
    let goal_recovery = format!(
        "goal <= {GOAL_RECOVERY_SCAN:.1}: {}",
        verdict(recovery <= GOAL_RECOVERY_SCAN)
    );
    let scan = format!("(d) plain CRC scan, {:.2} GiB, warm", r.gib);
    let open = format!("(d) CommitLog::open after a crash, {:.2} GiB", r.gib);
    let rows: [Row<'_>; 21] = [
        (
            "(a) raw append, pre-touched",
            a.of(Step::Raw),
            rate,
            "msgs/s",
            "the floor",
        ),
        (
            "(a) raw append + CRC32, pre-touched",
            a.of(Step::RawCrc),
            rate,
            "msgs/s",
            "",
        ),
        (
            "(a') raw append, fresh files",
            a.of(Step::RawFresh),
            rate,
            "msgs/s",
            "",
        ),
        (
            "(a'') raw append, page cache pre-touched",
            a.of(Step::RawPageCache),
            rate,
            "msgs/s",
            "",
        ),
        (
            "(b) append 32/call, page cache pre-touched",
            a.of(Step::LogB32),
            rate,
            "msgs/s",
            "",
        ),
        (
            "(b) append 1/call, page cache pre-touched",
            a.of(Step::LogB1),
            rate,
            "msgs/s",
            "",
        ),
        (
            "(b') append 32/call, fresh segments",
            a.of(Step::LogB32Fresh),
            rate,
            "msgs/s",
            "",
        ),
        (
            "(c) group commit, 4 threads x 32",
            &g.rate,
            rate,
            "msgs/s",
            "",
        ),
        (
            "(c) flushes (msyncs) per second",
            &g.flushes_per_s,
            f0,
            "1/s",
            "",
        ),
        ("(c) messages per flush", &g.msgs_per_flush, f1, "msgs", ""),
        (
            "(c) append -> durable wait p50",
            &g.wait_p50_us,
            f0,
            "us",
            "",
        ),
        (
            "(c) append -> durable wait p99",
            &g.wait_p99_us,
            f0,
            "us",
            "",
        ),
        (&scan, &r.scan_s_per_gib, f3, "s/GiB", ""),
        (&open, &r.open_s_per_gib, f3, "s/GiB", ""),
        (
            "ratio (b) 32/call / (a) raw",
            &a.ratio_b32_raw,
            f2,
            "",
            &goal_append,
        ),
        ("ratio (b) 1/call / (a) raw", &a.ratio_b1_raw, f2, "", ""),
        (
            "ratio (a) raw + CRC / (a) raw",
            &a.ratio_raw_crc,
            f2,
            "",
            "",
        ),
        (
            "ratio (b) 32/call / (a'') raw page-cache",
            &a.ratio_b32_pagecache,
            f2,
            "",
            "",
        ),
        (
            "ratio (b) 32/call / (a) raw + CRC",
            &a.ratio_b32_raw_crc,
            f2,
            "",
            "",
        ),
        (
            "ratio (b') fresh / (a') raw fresh",
            &a.ratio_b32_fresh,
            f2,
            "",
            "",
        ),
        (
            "ratio (d) open / plain CRC scan",
            &r.ratio_open_scan,
            f2,
            "",
            &goal_recovery,
        ),
    ];
    println!(
        "\n== summary: median [min - max] over rounds; ratios are medians of per-round ratios"
    );
    for (name, values, fmt, unit, note) in rows {
        row(name, values, fmt, unit, note);
    }
}
