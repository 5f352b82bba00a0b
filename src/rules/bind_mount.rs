//! `bind-mount` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct BindMount;

impl Rule for BindMount {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
