//! `shadowed-data-path` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct ShadowedDataPath;

impl Rule for ShadowedDataPath {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
