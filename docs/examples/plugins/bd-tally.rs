//! A third-party bd plugin in Rust, built on the `bd-shared` crate:
//! `bd tally` counts this town's issues by status.
//!
//! Build it with `cargo build --example bd-tally` and put
//! `target/debug/examples/bd-tally` on PATH. Everything a bundled command
//! gets comes for free: the handshake, `--json`, `-C`, `--beads-dir`, the
//! config resolver, the dolt runner, exit codes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bd_shared::context::Context;
use bd_shared::output::{Report, Style};
use bd_shared::plugin::Command;
use bd_shared::tracker::sql::{Sql, ToSql};

/// Count this town's issues by status.
#[derive(Debug, clap::Args)]
struct Tally {
    /// Only issues of this type.
    #[arg(short = 't', long = "type")]
    issue_type: Option<String>,
}

/// Issues per status (JSON: `{"town": …, "counts": {"open": 2, …}}`).
#[derive(serde::Serialize)]
struct Counts {
    town: String,
    counts: BTreeMap<String, u64>,
}

impl Report for Counts {
    fn human(&self, style: Style) -> String {
        let mut out = format!("{}\n", style.bold(&self.town));
        for (status, n) in &self.counts {
            let _ = writeln!(out, "  {status:<12}{n}");
        }
        out
    }
}

impl Command for Tally {
    const NAME: &'static str = "tally";
    const SUMMARY: &'static str = "Count issues by status";
    type Output = Counts;

    fn run(self, ctx: &Context) -> anyhow::Result<Counts> {
        let town = ctx.town()?;
        // Fixed text and quoted values only: the type given is never spliced in as SQL.
        let mut query = Sql::raw("SELECT status, COUNT(*) AS n FROM issues");
        if let Some(t) = &self.issue_type {
            query.push(&Sql::raw(" WHERE issue_type = "));
            query.push(&t.to_sql());
        }
        query.push(&Sql::raw(" GROUP BY status"));
        let rows = town.repo().query(&query)?;
        let counts =
            rows.iter().filter_map(|r| Some((r.get("status")?.as_str()?.to_owned(), r.get("n")?.as_u64()?))).collect();
        Ok(Counts { town: town.name().to_owned(), counts })
    }
}

bd_shared::main!(Tally);
