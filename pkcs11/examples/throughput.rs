//! Receipts per second with a key in SoftHSM2 against a software key, in both
//! signing modes of a log: `cargo run --release -p evidentia-pkcs11 --example throughput`.
//!
//! Each run creates a log in a temporary folder and appends `GROUPS` groups of
//! `GROUP` events (one commit, and in batch mode one signed checkpoint, per group);
//! the median of `RUNS` runs is printed. Also the raw signatures per second of each
//! key. Needs SoftHSM2 (`apt-get install softhsm2`) and writes its token folder
//! under the system's temporary directory, removed afterwards. Each figure is also
//! printed as a line of JSON, `{"workload":…,"median_ns":…}` (nanoseconds per
//! signature or receipt), which `cargo xtask bench compare` reads.

use std::path::Path;
use std::time::Instant;

use evidentia::{Signer, SigningKey};
use evidentia_store::{AppendOptions, CreateOptions, Log, Mode, NewEvent};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "1234";
const RUNS: usize = 5;
const GROUPS: usize = 50;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Events per second appending `GROUPS` groups of `group` events, for each key;
/// the keys' runs alternate, so that the disk's moods fall on both alike.
fn log_rates(dir: &Path, keys: &[&dyn Signer], mode: Mode, group: usize) -> Vec<f64> {
    let mut samples = vec![Vec::new(); keys.len()];
    for run in 0..RUNS {
        for (k, key) in keys.iter().enumerate() {
            samples[k].push(log_run(dir, *key, mode, group, run));
        }
    }
    samples.into_iter().map(median).collect()
}

fn log_run(dir: &Path, key: &dyn Signer, mode: Mode, group: usize, run: usize) -> f64 {
    {
        let path = dir.join(format!("log-{mode:?}-{group}-{run}-{}", key.public_key().kid()));
        let log = Log::create(&path, key, CreateOptions { mode, ..CreateOptions::default() }).expect("create");
        let events: Vec<String> = (0..group).map(|i| format!("{{\"amount\":{i},\"currency\":\"EUR\"}}")).collect();
        let new: Vec<NewEvent<'_>> = events.iter().map(|e| NewEvent { json: e.as_bytes(), nonce: None }).collect();
        let start = Instant::now();
        for _ in 0..GROUPS {
            log.append_events(key, &new, &AppendOptions::default()).expect("append");
        }
        let rate = (GROUPS * group) as f64 / start.elapsed().as_secs_f64();
        drop(log);
        std::fs::remove_dir_all(&path).expect("remove the log");
        rate
    }
}

/// A rate as the line of JSON the comparison reads: nanoseconds per operation.
fn report(workload: &str, per_second: f64) {
    println!("{{\"workload\":\"{workload}\",\"median_ns\":{:.0}}}", 1e9 / per_second);
}

fn sign_rate(key: &dyn Signer) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        for i in 0..200u32 {
            evidentia::checked_signature(key, &i.to_be_bytes()).expect("sign");
        }
        samples.push(200.0 / start.elapsed().as_secs_f64());
    }
    median(samples)
}

fn main() {
    if !Path::new(MODULE).exists() {
        eprintln!("SoftHSM2 is not installed ({MODULE}): apt-get install softhsm2");
        std::process::exit(2);
    }
    let dir = std::env::temp_dir().join(format!("evidentia-pkcs11-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tokens")).expect("temp dir");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        ),
    )
    .expect("conf");
    // SAFETY: set before any thread starts and before the module is loaded.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let status = std::process::Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "bench", "--pin", PIN, "--so-pin", "5678"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("softhsm2-util");
    assert!(status.success());
    let uri = format!("pkcs11:token=bench;object=bench;id=%01?module-path={MODULE}&pin-value={PIN}");
    evidentia_pkcs11::generate_key(&uri).expect("keygen");
    let token = evidentia_pkcs11::Pkcs11Signer::open(&uri).expect("open");
    let software = SigningKey::generate().expect("software key");

    println!("signatures per second (median of {RUNS} x 200)");
    let (soft, hsm) = (sign_rate(&software), sign_rate(&token));
    println!("  software key: {soft:>9.0}");
    println!("  SoftHSM2:     {hsm:>9.0}");
    report("sign_software", soft);
    report("sign_softhsm2", hsm);
    for group in [1, 100] {
        println!("receipts per second, {GROUPS} groups of {group} (median of {RUNS} runs)");
        for (name, mode) in [("receipts", Mode::Receipts), ("batch", Mode::Batch)] {
            let rates = log_rates(&dir, &[&software, &token], mode, group);
            let (soft, hsm) = (rates[0], rates[1]);
            println!("  {name:<9} mode  software {soft:>9.0}   SoftHSM2 {hsm:>9.0}");
            report(&format!("append_{name}_{group}_software"), soft);
            report(&format!("append_{name}_{group}_softhsm2"), hsm);
        }
    }
    drop(token);
    let _ = std::fs::remove_dir_all(&dir);
}
