//! SQL in tool arguments: which statements, which tables, how many rows.

use super::blast;
use super::facts::SqlFact;

pub(super) fn looks_like_sql(s: &str) -> bool {
    let head: String = s.trim_start().chars().take(12).collect::<String>().to_uppercase();
    ["SELECT ", "INSERT ", "UPDATE ", "DELETE ", "DROP ", "ALTER ", "CREATE ", "TRUNCATE ", "MERGE ", "WITH ", "GRANT "]
        .iter()
        .any(|k| head.starts_with(k))
}

/// Parses SQL with `sqlparser` (generic dialect) and classifies each statement.
pub fn analyse_sql(path: &str, text: &str) -> Vec<SqlFact> {
    use sqlparser::ast::Statement;
    use sqlparser::dialect::GenericDialect;
    use sqlparser::parser::Parser;

    let statements = match Parser::parse_sql(&GenericDialect {}, text) {
        Ok(s) => s,
        Err(e) => {
            return vec![SqlFact {
                path: path.into(),
                statement: "unparsed".into(),
                // Unreadable SQL is assumed to write.
                writes: true,
                without_where: false,
                always_true_where: false,
                tables: Vec::new(),
                error: Some(e.to_string()),
                reach: Vec::new(),
                grants: Vec::new(),
            }];
        }
    };
    let mut out = Vec::new();
    for st in &statements {
        let mut tables = Vec::new();
        collect_tables(st, &mut tables);
        // DROP names its objects outside any relation the visitor sees.
        if let Statement::Drop { names, .. } = st {
            tables.extend(names.iter().map(|n| table_name(&n.to_string())));
        }
        let (statement, writes, without_where) = match st {
            Statement::Query(_) => ("select", false, false),
            Statement::Insert(_) => ("insert", true, false),
            Statement::Update { selection, .. } => ("update", true, selection.is_none()),
            Statement::Delete(d) => ("delete", true, d.selection.is_none()),
            Statement::Merge { .. } => ("merge", true, false),
            Statement::Drop { .. } => ("drop", true, false),
            Statement::Truncate { .. } => ("truncate", true, true),
            Statement::Grant { .. } | Statement::Revoke { .. } => ("grant", true, false),
            Statement::CreateTable(_)
            | Statement::AlterTable { .. }
            | Statement::CreateIndex(_)
            | Statement::CreateView { .. }
            | Statement::CreateSchema { .. }
            | Statement::CreateDatabase { .. } => ("ddl", true, false),
            Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
            | Statement::ExplainTable { .. }
            | Statement::Explain { .. } => ("select", false, false),
            _ => ("other", true, false),
        };
        tables.sort();
        tables.dedup();
        let always_true_where = match st {
            Statement::Update { selection, .. } => blast::where_always_true(selection),
            Statement::Delete(d) => blast::where_always_true(&d.selection),
            _ => false,
        };
        let what = format!("SQL {} on {}", statement.to_uppercase(), tables.join(", "));
        let (reach, grants) = blast::sql_reach(st, &what);
        out.push(SqlFact {
            path: path.into(),
            statement: statement.into(),
            writes,
            without_where,
            always_true_where,
            tables,
            error: None,
            reach,
            grants,
        });
    }
    out
}

/// Table names a statement touches, lower-cased, without schema quoting.
fn collect_tables(st: &sqlparser::ast::Statement, out: &mut Vec<String>) {
    use sqlparser::ast::Visit;
    use std::ops::ControlFlow;

    struct V<'a>(&'a mut Vec<String>);
    impl sqlparser::ast::Visitor for V<'_> {
        type Break = ();
        fn pre_visit_relation(&mut self, relation: &sqlparser::ast::ObjectName) -> ControlFlow<()> {
            self.0.push(table_name(&relation.to_string()));
            ControlFlow::Continue(())
        }
    }
    let _ = st.visit(&mut V(out));
}

/// `"public"."Users"` -> `users`.
fn table_name(qualified: &str) -> String {
    let name = qualified.replace(['"', '`', '[', ']'], "").to_lowercase();
    name.rsplit('.').next().unwrap_or(&name).to_string()
}
