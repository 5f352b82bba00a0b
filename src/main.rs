fn main() {
    std::process::exit(stowage::cli::main());
}
