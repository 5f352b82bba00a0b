//! `single-letter-volume` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct SingleLetterVolume;

impl Rule for SingleLetterVolume {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
