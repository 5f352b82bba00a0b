//! `anonymous-volume` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct AnonymousVolume;

impl Rule for AnonymousVolume {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
