//! `invalid-volume-spec` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct InvalidVolumeSpec;

impl Rule for InvalidVolumeSpec {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
