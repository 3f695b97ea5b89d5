//! What the micro-benchmarks of several crates (`claimd-iden3`, `claimd-auth`,
//! `claimd-merklize`) read from the machine they run on, kept once: each includes this file
//! as a module (`#[path]`), since they share no crate a bench helper could live in.

/// CPU time this thread has run, in ns (`/proc/thread-self/schedstat`, Linux), if available.
/// Unlike wall time it does not count the time the thread waited for a core, so figures stay
/// comparable on a shared, loaded machine.
pub fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What `cmd args…` prints, trimmed ("" when it cannot run): versions for the results file.
pub fn command_output(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
