//! `duplicate-mount-target` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct DuplicateMountTarget;

impl Rule for DuplicateMountTarget {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
