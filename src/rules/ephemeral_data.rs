//! `ephemeral-data` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct EphemeralData;

impl Rule for EphemeralData {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
