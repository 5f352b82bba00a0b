//! `implicit-volume` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct ImplicitVolume;

impl Rule for ImplicitVolume {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
