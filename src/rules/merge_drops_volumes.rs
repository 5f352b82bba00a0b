//! `merge-drops-volumes` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct MergeDropsVolumes;

impl Rule for MergeDropsVolumes {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
