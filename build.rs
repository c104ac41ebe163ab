//! Rebuilds the crate when a migration changes: `embed_migrations!` reads `migrations/` at
//! compile time, and Cargo does not know to watch that directory by itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
