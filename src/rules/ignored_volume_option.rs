//! `ignored-volume-option` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct IgnoredVolumeOption;

impl Rule for IgnoredVolumeOption {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
