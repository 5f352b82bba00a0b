//! `syntax-error` (being written).

use super::{Context, Rule, RuleMeta};
use crate::finding::Finding;

pub struct SyntaxError;

impl Rule for SyntaxError {
    fn meta(&self) -> &'static RuleMeta {
        todo!()
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
