//! The `stowage` command: everything is in the library (`stowage::cli`).

fn main() {
    std::process::exit(stowage::cli::main());
}
