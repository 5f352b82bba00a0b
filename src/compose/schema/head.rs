//! A property name's first eight bytes as one number, which the validator's binary search over
//! a subschema's properties compares first. Shared with the build script (`build/schema.rs`),
//! which writes each property's number into the compiled tables.

/// The first eight bytes of `name`, zero-padded, big-endian: in the byte order of the names
/// whenever two differ.
pub(crate) fn head(name: &str) -> u64 {
    let bytes = name.as_bytes();
    match bytes.first_chunk::<8>() {
        Some(first) => u64::from_be_bytes(*first),
        None => (bytes.iter().enumerate()).fold(0, |h, (i, &b)| h | u64::from(b) << (56 - 8 * i)),
    }
}
