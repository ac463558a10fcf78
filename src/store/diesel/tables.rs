//! The names of the two tables, for apps whose database already has a table of that name or
//! that keep several sets side by side.

/// The table names the Diesel stores and their migrations use: by default
/// `passkey_credentials` and `passkey_challenges`.
///
/// Give the same `Tables` to the migration runner and to both stores
/// (`run_migrations_with`, `with_tables`): the runner creates the tables (and their indexes,
/// named after them) under these names, the stores query them.
///
/// ```
/// use actix_passkeys::store::diesel::Tables;
///
/// let tables = Tables::with_prefix("auth_")?;
/// assert_eq!(tables.credentials(), "auth_passkey_credentials");
/// assert_eq!(tables.challenges(), "auth_passkey_challenges");
/// let tables = Tables::new("webauthn_keys", "webauthn_ceremonies")?;
/// assert_eq!(tables.credentials(), "webauthn_keys");
/// assert!(Tables::new("keys; DROP TABLE users", "x").is_err());
/// # Ok::<(), actix_passkeys::store::diesel::TableNameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tables {
    credentials: String,
    challenges: String,
}

/// The default credentials table.
const CREDENTIALS: &str = "passkey_credentials";
/// The default challenges table.
const CHALLENGES: &str = "passkey_challenges";

/// The longest name accepted: PostgreSQL truncates identifiers at 63 bytes, and the longest
/// index name is the challenges table's name and `_expires_at_idx` (15 bytes).
pub const MAX_TABLE_NAME_LEN: usize = 48;

/// Why a table name was refused.
#[derive(Debug, Clone, PartialEq, Eq, derive_more::Display, derive_more::Error)]
#[non_exhaustive]
pub enum TableNameError {
    /// Not a plain lower-case SQL identifier (`[a-z_][a-z0-9_]*`), so it could not be used
    /// unquoted on both backends.
    #[display("a table name must match [a-z_][a-z0-9_]*")]
    NotAnIdentifier,
    /// Longer than [`MAX_TABLE_NAME_LEN`] bytes.
    #[display("a table name is at most {MAX_TABLE_NAME_LEN} bytes")]
    TooLong,
    /// Both tables were given the same name.
    #[display("the credentials and challenges tables need different names")]
    SameName,
    /// A keyword of SQLite or a reserved word of PostgreSQL (`user`, `order`, ...): written
    /// unquoted, it would make the migrations and queries invalid SQL.
    #[display("a table name must not be an SQL keyword")]
    Reserved,
}

/// The reserved words of PostgreSQL 17 (the "reserved" and "reserved (can be function or
/// type)" rows of its SQL key words appendix) and every SQLite keyword, lower case and sorted.
/// SQLite accepts some of its keywords as names, PostgreSQL none of these: one list refuses a
/// name that works on one backend and breaks on the other.
const RESERVED: &[&str] = &[
    "abort",
    "action",
    "add",
    "after",
    "all",
    "alter",
    "always",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "attach",
    "authorization",
    "autoincrement",
    "before",
    "begin",
    "between",
    "binary",
    "both",
    "by",
    "cascade",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "commit",
    "concurrently",
    "conflict",
    "constraint",
    "create",
    "cross",
    "current",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "database",
    "default",
    "deferrable",
    "deferred",
    "delete",
    "desc",
    "detach",
    "distinct",
    "do",
    "drop",
    "each",
    "else",
    "end",
    "escape",
    "except",
    "exclude",
    "exclusive",
    "exists",
    "explain",
    "fail",
    "false",
    "fetch",
    "filter",
    "first",
    "following",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "generated",
    "glob",
    "grant",
    "group",
    "groups",
    "having",
    "if",
    "ignore",
    "ilike",
    "immediate",
    "in",
    "index",
    "indexed",
    "initially",
    "inner",
    "insert",
    "instead",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "key",
    "last",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "match",
    "materialized",
    "natural",
    "no",
    "not",
    "nothing",
    "notnull",
    "null",
    "nulls",
    "of",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "others",
    "outer",
    "over",
    "overlaps",
    "partition",
    "placing",
    "plan",
    "pragma",
    "preceding",
    "primary",
    "query",
    "raise",
    "range",
    "recursive",
    "references",
    "regexp",
    "reindex",
    "release",
    "rename",
    "replace",
    "restrict",
    "returning",
    "right",
    "rollback",
    "row",
    "rows",
    "savepoint",
    "select",
    "session_user",
    "set",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "temp",
    "temporary",
    "then",
    "ties",
    "to",
    "trailing",
    "transaction",
    "trigger",
    "true",
    "unbounded",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "vacuum",
    "values",
    "variadic",
    "verbose",
    "view",
    "virtual",
    "when",
    "where",
    "window",
    "with",
    "without",
];

impl Default for Tables {
    fn default() -> Self {
        Self {
            credentials: CREDENTIALS.to_owned(),
            challenges: CHALLENGES.to_owned(),
        }
    }
}

fn check(name: &str) -> Result<(), TableNameError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(TableNameError::NotAnIdentifier);
    }
    if name.len() > MAX_TABLE_NAME_LEN {
        return Err(TableNameError::TooLong);
    }
    if RESERVED.binary_search(&name).is_ok() {
        return Err(TableNameError::Reserved);
    }
    Ok(())
}

impl Tables {
    /// Tables with these names (each a lower-case identifier of at most
    /// [`MAX_TABLE_NAME_LEN`] bytes and no SQL keyword, the two different).
    pub fn new(credentials: &str, challenges: &str) -> Result<Self, TableNameError> {
        check(credentials)?;
        check(challenges)?;
        if credentials == challenges {
            return Err(TableNameError::SameName);
        }
        Ok(Self {
            credentials: credentials.to_owned(),
            challenges: challenges.to_owned(),
        })
    }

    /// The default names with `prefix` in front: `<prefix>passkey_credentials` and
    /// `<prefix>passkey_challenges`.
    pub fn with_prefix(prefix: &str) -> Result<Self, TableNameError> {
        Self::new(
            &format!("{prefix}{CREDENTIALS}"),
            &format!("{prefix}{CHALLENGES}"),
        )
    }

    /// The credentials table.
    pub fn credentials(&self) -> &str {
        &self.credentials
    }

    /// The challenges table.
    pub fn challenges(&self) -> &str {
        &self.challenges
    }

    /// Whether these are the default names.
    pub(crate) fn is_default(&self) -> bool {
        self.credentials == CREDENTIALS && self.challenges == CHALLENGES
    }

    /// `sql` (a shipped migration, written for the default names) for these names. Index
    /// names start with their table's name, so they follow.
    ///
    /// One pass over `sql`: a replaced name is never looked at again, so a configured name that
    /// contains a default name (`passkey_challenges_keys`) is not renamed a second time.
    pub(crate) fn rename_in(&self, sql: &str) -> String {
        let mut out = String::with_capacity(sql.len());
        let mut rest = sql;
        while !rest.is_empty() {
            let next = [
                (CREDENTIALS, self.credentials.as_str()),
                (CHALLENGES, self.challenges.as_str()),
            ]
            .into_iter()
            .filter_map(|(from, to)| rest.find(from).map(|at| (at, from, to)))
            .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, from, to)) => {
                    out.push_str(&rest[..at]);
                    out.push_str(to);
                    rest = &rest[at + from.len()..];
                }
                None => {
                    out.push_str(rest);
                    rest = "";
                }
            }
        }
        out
    }

    /// What tells these tables' migrations apart from the default ones' in
    /// `__diesel_schema_migrations`: the first 8 bytes of the SHA-256 of both names, in hex.
    pub(crate) fn version_tag(&self) -> String {
        use sha2::{Digest as _, Sha256};
        let digest = Sha256::digest(format!("{}\n{}", self.credentials, self.challenges));
        hex::encode(&digest[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only both default names are the default tables (whose migrations carry the shipped
    /// version numbers); one changed name gets its own version tag.
    #[test]
    fn default_means_both_names_are_the_defaults() {
        assert!(Tables::default().is_default());
        assert!(!Tables::new(CREDENTIALS, "ceremonies").unwrap().is_default());
        assert!(!Tables::new("keys", CHALLENGES).unwrap().is_default());
    }

    /// A configured name that contains a default name is not renamed a second time: every
    /// default name in the shipped SQL is replaced once, in one pass.
    #[test]
    fn a_name_containing_a_default_name_is_renamed_once() {
        let tables = Tables::new("passkey_challenges_keys", "ceremonies").unwrap();
        let sql = "CREATE TABLE passkey_credentials (x INT);\n\
                   CREATE INDEX passkey_credentials_user ON passkey_credentials (x);\n\
                   CREATE TABLE passkey_challenges (y INT);";
        assert_eq!(
            tables.rename_in(sql),
            "CREATE TABLE passkey_challenges_keys (x INT);\n\
             CREATE INDEX passkey_challenges_keys_user ON passkey_challenges_keys (x);\n\
             CREATE TABLE ceremonies (y INT);"
        );
        let swapped = Tables::new("passkey_challenges", "passkey_credentials").unwrap();
        assert_eq!(
            swapped.rename_in("passkey_credentials passkey_challenges"),
            "passkey_challenges passkey_credentials"
        );
    }

    /// Only plain identifiers are accepted: a name is written into SQL unquoted.
    #[test]
    fn table_names_must_be_plain_identifiers() {
        for bad in [
            "",
            "1table",
            "Passkeys",
            "pk-creds",
            "pk creds",
            "a;drop table x",
            "a\"b",
            "schema.table",
            "ключи",
        ] {
            assert_eq!(
                Tables::new(bad, "ok").unwrap_err(),
                TableNameError::NotAnIdentifier,
                "{bad:?}"
            );
            assert!(Tables::new("ok", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Tables::new(&"a".repeat(MAX_TABLE_NAME_LEN + 1), "b").unwrap_err(),
            TableNameError::TooLong
        );
        assert!(Tables::new(&"a".repeat(MAX_TABLE_NAME_LEN), "b").is_ok());
        assert_eq!(
            Tables::new("same", "same").unwrap_err(),
            TableNameError::SameName
        );
        assert!(Tables::with_prefix("Bad").is_err());
    }

    /// Names are written into SQL unquoted, so a keyword (`CREATE TABLE user (...)` is a
    /// syntax error on PostgreSQL) is refused when the tables are named, not when the migration
    /// runs; words that merely contain one are fine.
    #[test]
    fn sql_keywords_are_refused_as_table_names() {
        for word in [
            "user", "order", "table", "group", "select", "index", "key", "plan",
        ] {
            assert_eq!(
                Tables::new(word, "ok").unwrap_err(),
                TableNameError::Reserved,
                "{word}"
            );
            assert_eq!(
                Tables::new("ok", word).unwrap_err(),
                TableNameError::Reserved,
                "{word}"
            );
        }
        for fine in ["users", "user_keys", "orders", "app_table", "keys"] {
            assert!(Tables::new(fine, "ceremonies").is_ok(), "{fine}");
        }
        // Binary search needs the list sorted and without duplicates.
        assert!(RESERVED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn migrations_are_renamed_and_tagged_per_name_pair() {
        let default = Tables::default();
        assert!(default.is_default());
        let t = Tables::with_prefix("app_").unwrap();
        assert!(!t.is_default());
        assert_eq!(
            t.rename_in("CREATE INDEX passkey_credentials_user_id_idx ON passkey_credentials"),
            "CREATE INDEX app_passkey_credentials_user_id_idx ON app_passkey_credentials"
        );
        assert_eq!(t.version_tag().len(), 16);
        assert_ne!(t.version_tag(), default.version_tag());
        assert_ne!(
            Tables::new("a", "b").unwrap().version_tag(),
            Tables::new("b", "a").unwrap().version_tag()
        );
    }
}
