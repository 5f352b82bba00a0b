//! YAML with positions, knowing nothing about compose: file text and its line index (`source`),
//! the located syntax tree with anchors, comments and styles (`syntax`), the value tree every
//! later stage reads, with a `Loc` on every node (`value`), and edits that keep a hand-written
//! file's style (`edit`).

pub mod edit;
pub mod source;
pub mod syntax;
pub mod value;
