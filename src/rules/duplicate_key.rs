//! `duplicate-key` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct DuplicateKey;

impl Rule for DuplicateKey {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
