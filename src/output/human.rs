//! Findings for people: source snippets with labels (miette), colours only on a terminal.

use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report,
};

use super::position;
use crate::finding::{Finding, Severity};
use crate::model::Project;

pub struct Human {
    handler: GraphicalReportHandler,
}

impl Human {
    pub fn new(colour: bool) -> Human {
        let theme = if colour {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        Human {
            handler: GraphicalReportHandler::new_themed(theme)
                .with_context_lines(1)
                .with_width(100),
        }
    }

    pub fn render(&self, out: &mut String, project: &Project, findings: &[Finding]) {
        for f in findings {
            self.render_one(out, project, f);
        }
    }

    fn render_one(&self, out: &mut String, project: &Project, f: &Finding) {
        let file = &project.file(f.loc.file).source;
        let primary = if f.services.len() > 1 {
            format!(
                "in services {}",
                f.services
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            f.services
                .first()
                .map(|s| format!("in service `{s}`"))
                .unwrap_or_default()
        };
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(primary).filter(|p| !p.is_empty()),
            f.loc.start..f.loc.end,
        )];
        let mut elsewhere = Vec::new();
        for l in &f.labels {
            if project.file(l.loc.file).source.path == file.path {
                labels.push(LabeledSpan::new_with_span(
                    Some(l.message.clone()),
                    l.loc.start..l.loc.end,
                ));
            } else {
                let p = position(project, l.loc);
                elsewhere.push(format!("{}:{}:{}: {}", p.path, p.line, p.column, l.message));
            }
        }
        let severity = match f.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        };
        let mut help = f.help.clone();
        for e in elsewhere {
            help.push_str("\nsee ");
            help.push_str(&e);
        }
        let diagnostic = MietteDiagnostic::new(f.message.clone())
            .with_code(f.rule)
            .with_severity(severity)
            .with_help(help)
            .with_labels(labels);
        let source: Arc<str> = file.text.clone();
        let report = Report::new(diagnostic)
            .with_source_code(NamedSource::new(file.display.clone(), source));
        let p = position(project, f.loc);
        out.push_str(&format!("{}:{}:{}\n", p.path, p.line, p.column));
        let _ = self.handler.render_report(out, report.as_ref());
        out.push('\n');
    }
}
