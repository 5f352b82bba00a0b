//! Which projects a run covers and loading them: paths to projects as compose discovers them
//! (`discover`), and every project loaded and analysed in parallel (`inventory`).

pub mod discover;
pub mod inventory;
