// mimalloc: the loader allocates many small values per file; with glibc's allocator, malloc and
// free were an eighth of a whole-repository check (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(stowage::cli::main());
}
