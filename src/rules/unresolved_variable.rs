//! `unresolved-variable` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct UnresolvedVariable;

impl Rule for UnresolvedVariable {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
