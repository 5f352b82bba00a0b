//! `invalid-compose` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct InvalidCompose;

impl Rule for InvalidCompose {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
