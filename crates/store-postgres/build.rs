// `sqlx::migrate!` embeds the migrations at compile time, but Cargo does not watch the
// directory: without this, an added migration file is missing from an incremental build.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
