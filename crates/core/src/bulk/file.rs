//! Reading an upload incrementally: bytes in (any chunking), rows out, never the whole file in
//! memory. The upload handler reads the file once to refuse a broken one at once (a 400 naming
//! the problem); the runner reads the stored chunks again and checks every row against the
//! schema ([`FileReader::new`] with `check_rows`).
//!
//! A problem with the file as a whole (header, encoding, quoting, size) is a [`BulkError`];
//! a problem with one row is that row's error, in the API's words, and the other rows go on.

use super::{BulkError, Format, NewRow, MAX_ROWS};
use crate::schema::{AttributeType, Schema};
use crate::store::OnDuplicate;
use crate::user::Email;
use crate::DomainError;
use serde_json::{Map, Value};

/// Longest row (one CSV record or one JSON line), in bytes.
pub const MAX_ROW_BYTES: usize = 64 * 1024;
/// A row's address is kept for the results file up to this many characters.
const MAX_KEPT_EMAIL: usize = 320;

const ON_DUPLICATE: &str = "onDuplicate";

/// What a CSV header maps each column to.
#[derive(Debug, Clone)]
enum Column {
    Email,
    OnDuplicate,
    Attribute(String, AttributeType),
}

/// Splits bytes into records: lines, except that in CSV a newline inside quotes belongs to
/// the field. Keeps only the unfinished record between pushes.
#[derive(Debug, Default)]
struct Splitter {
    csv: bool,
    buf: Vec<u8>,
    /// How far `buf` was already scanned (and the quote state there).
    scanned: usize,
    quoted: bool,
}

impl Splitter {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), BulkError> {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        for i in self.scanned..self.buf.len() {
            match self.buf[i] {
                b'"' if self.csv => self.quoted = !self.quoted,
                b'\n' if !self.quoted => {
                    if i - start > MAX_ROW_BYTES {
                        return Err(too_long(false));
                    }
                    out.push(self.buf[start..i].to_vec());
                    start = i + 1;
                }
                _ => {}
            }
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_ROW_BYTES {
            return Err(too_long(self.quoted));
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Vec<u8>>) -> Result<(), BulkError> {
        if self.quoted {
            return Err(BulkError::BadFile(
                "The file ends inside a quoted CSV field".into(),
            ));
        }
        if !self.buf.is_empty() {
            out.push(std::mem::take(&mut self.buf));
        }
        Ok(())
    }
}

fn too_long(quoted: bool) -> BulkError {
    BulkError::BadFile(format!(
        "A row is longer than {MAX_ROW_BYTES} bytes{}",
        if quoted {
            " (is a quote left open?)"
        } else {
            ""
        }
    ))
}

/// Reads a file's rows. `rows()` counts the data rows seen so far.
pub struct FileReader {
    format: Format,
    schema: Schema,
    check_rows: bool,
    splitter: Splitter,
    /// CSV: the header's columns, once read.
    columns: Option<Vec<Column>>,
    rows: u64,
    records_seen: u64,
}

impl FileReader {
    /// `check_rows`: check every row against `schema` (the runner); without it only the file's
    /// shape is checked (the upload).
    pub fn new(format: Format, schema: Schema, check_rows: bool) -> Self {
        FileReader {
            format,
            schema,
            check_rows,
            splitter: Splitter {
                csv: format == Format::Csv,
                ..Default::default()
            },
            columns: None,
            rows: 0,
            records_seen: 0,
        }
    }

    /// Data rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Reads `chunk`; returns the rows it completed (empty unless `check_rows`).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<NewRow>, BulkError> {
        let mut records = Vec::new();
        self.splitter.push(chunk, &mut records)?;
        self.records(records)
    }

    /// The end of the file: its last row, if it had no final newline. A file without data rows
    /// is refused.
    pub fn finish(&mut self) -> Result<Vec<NewRow>, BulkError> {
        let mut records = Vec::new();
        self.splitter.finish(&mut records)?;
        let rows = self.records(records)?;
        if self.format == Format::Csv && self.columns.is_none() {
            return Err(BulkError::BadFile(
                "The file is empty: expected a header row".into(),
            ));
        }
        if self.rows == 0 {
            return Err(BulkError::BadFile("The file has no rows".into()));
        }
        Ok(rows)
    }

    fn records(&mut self, records: Vec<Vec<u8>>) -> Result<Vec<NewRow>, BulkError> {
        let mut out = Vec::new();
        for mut raw in records {
            self.records_seen += 1;
            if self.records_seen == 1 && raw.starts_with(b"\xEF\xBB\xBF") {
                raw.drain(..3);
            }
            if raw.last() == Some(&b'\r') {
                raw.pop();
            }
            let text = String::from_utf8(raw).map_err(|_| {
                BulkError::BadFile(format!(
                    "Line {} is not UTF-8 text (save the file as UTF-8)",
                    self.records_seen
                ))
            })?;
            if text.trim().is_empty() {
                continue;
            }
            if self.format == Format::Csv && self.columns.is_none() {
                self.columns = Some(header(&text, &self.schema)?);
                continue;
            }
            self.rows += 1;
            if self.rows > MAX_ROWS {
                return Err(BulkError::TooLarge(format!(
                    "The file has more than {MAX_ROWS} rows"
                )));
            }
            if self.check_rows {
                out.push(self.row(&text));
            }
        }
        Ok(out)
    }

    fn row(&self, text: &str) -> NewRow {
        let (email, checked) = match (&self.columns, self.format) {
            (Some(cols), Format::Csv) => csv_row(text, cols),
            _ => json_row(text),
        };
        let mut row = NewRow {
            row_no: self.rows,
            email: email.chars().take(MAX_KEPT_EMAIL).collect(),
            email_key: None,
            subject: None,
            on_duplicate: OnDuplicate::Revoke,
            error: None,
        };
        let checked = checked.and_then(|(subject, on_duplicate)| {
            self.schema.validate_subject(&subject)?;
            // A row's subject waits in a `jsonb` column on PostgreSQL, which has no NUL
            // (issue-on-behalf stores the credential as text and takes it).
            for (name, value) in &subject {
                crate::text::check_storable_json(&format!("credentialSubject.{name}"), value)?;
            }
            let key = Email::parse(&email)?;
            Ok((key, subject, on_duplicate))
        });
        match checked {
            Ok((key, subject, on_duplicate)) => {
                row.email_key = Some(key.as_str().to_owned());
                row.subject = Some(subject);
                row.on_duplicate = on_duplicate;
            }
            Err(e) => row.error = Some(e.message()),
        }
        row
    }
}

type Checked = Result<(Map<String, Value>, OnDuplicate), DomainError>;

/// The header's columns: `email` once, each other one an attribute of the schema or
/// `onDuplicate`, every required attribute present.
fn header(text: &str, schema: &Schema) -> Result<Vec<Column>, BulkError> {
    let bad = |m: String| BulkError::BadFile(format!("CSV header: {m}"));
    let names = csv_fields(text).map_err(bad)?;
    let mut cols: Vec<Column> = Vec::with_capacity(names.len());
    let mut seen = std::collections::HashSet::new();
    for name in &names {
        let name = name.trim();
        if !seen.insert(name.to_owned()) {
            return Err(bad(format!("column {name:?} appears twice")));
        }
        cols.push(match name {
            "email" => Column::Email,
            ON_DUPLICATE => Column::OnDuplicate,
            _ => {
                let attr = schema
                    .attributes
                    .iter()
                    .find(|a| a.name == name)
                    .ok_or_else(|| {
                        bad(format!(
                            "column {name:?} is not an attribute of schema {} (expected email, {}{ON_DUPLICATE})",
                            schema.type_name,
                            schema
                                .attributes
                                .iter()
                                .map(|a| format!("{}, ", a.name))
                                .collect::<String>()
                        ))
                    })?;
                Column::Attribute(attr.name.clone(), attr.kind)
            }
        });
    }
    if !seen.contains("email") {
        return Err(bad("no email column".into()));
    }
    if let Some(missing) = schema
        .attributes
        .iter()
        .find(|a| a.required && !seen.contains(&a.name))
    {
        return Err(bad(format!(
            "no column for the required attribute {:?}",
            missing.name
        )));
    }
    Ok(cols)
}

fn csv_row(text: &str, cols: &[Column]) -> (String, Checked) {
    let fields = match csv_fields(text) {
        Ok(f) => f,
        Err(m) => return (String::new(), Err(DomainError::invalid("row", m))),
    };
    let email = cols
        .iter()
        .position(|c| matches!(c, Column::Email))
        .and_then(|i| fields.get(i))
        .cloned()
        .unwrap_or_default();
    if fields.len() != cols.len() {
        let m = format!("has {} fields, the header {}", fields.len(), cols.len());
        return (email, Err(DomainError::invalid("row", m)));
    }
    let mut subject = Map::new();
    let mut on_duplicate = OnDuplicate::Revoke;
    for (col, value) in cols.iter().zip(fields) {
        match col {
            Column::Email => {}
            Column::OnDuplicate => match on_duplicate_value(value.trim()) {
                Ok(d) => on_duplicate = d,
                Err(e) => return (email, Err(e)),
            },
            // An empty cell is an absent attribute (required ones are then reported missing).
            Column::Attribute(_, _) if value.is_empty() => {}
            Column::Attribute(name, kind) => match typed(*kind, &value) {
                Ok(v) => {
                    subject.insert(name.clone(), v);
                }
                Err(m) => {
                    return (
                        email,
                        Err(DomainError::invalid(format!("credentialSubject.{name}"), m)),
                    )
                }
            },
        }
    }
    (email, Ok((subject, on_duplicate)))
}

fn on_duplicate_value(v: &str) -> Result<OnDuplicate, DomainError> {
    match v {
        "" | "revoke" => Ok(OnDuplicate::Revoke),
        "ignore" => Ok(OnDuplicate::Ignore),
        _ => Err(DomainError::invalid(
            ON_DUPLICATE,
            "must be one of ignore, revoke",
        )),
    }
}

/// A CSV cell as the attribute's JSON type; the schema's own rules (ranges, lengths) are
/// checked afterwards on the typed value, exactly as for a JSON request.
fn typed(kind: AttributeType, v: &str) -> Result<Value, String> {
    match kind {
        AttributeType::String | AttributeType::Date => Ok(Value::String(v.to_owned())),
        AttributeType::Integer => v
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "must be of type integer".into()),
        AttributeType::Number => v
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "must be of type number".into()),
        AttributeType::Boolean => match v.trim() {
            "true" | "TRUE" | "True" => Ok(Value::Bool(true)),
            "false" | "FALSE" | "False" => Ok(Value::Bool(false)),
            _ => Err("must be of type boolean (true or false)".into()),
        },
    }
}

fn json_row(text: &str) -> (String, Checked) {
    let invalid = |m: &str| Err(DomainError::invalid("row", m));
    let Ok(Value::Object(mut obj)) = serde_json::from_str::<Value>(text) else {
        return (String::new(), invalid("is not a JSON object"));
    };
    let email = match obj.remove("email") {
        Some(Value::String(s)) => s,
        Some(_) => {
            return (
                String::new(),
                Err(DomainError::invalid("email", "must be a string")),
            )
        }
        None => String::new(),
    };
    let on_duplicate = match obj.remove(ON_DUPLICATE) {
        None | Some(Value::Null) => Ok(OnDuplicate::Revoke),
        Some(Value::String(s)) => on_duplicate_value(&s),
        Some(_) => Err(DomainError::invalid(
            ON_DUPLICATE,
            "must be one of ignore, revoke",
        )),
    };
    let subject = match obj.remove("credentialSubject") {
        Some(Value::Object(s)) => Ok(s),
        _ => Err(DomainError::invalid(
            "credentialSubject",
            "must be an object",
        )),
    };
    if let Some(extra) = obj.keys().next() {
        let e = DomainError::invalid(extra.clone(), "is not a field of a row");
        return (email, Err(e));
    }
    (email, on_duplicate.and_then(|d| Ok((subject?, d))))
}

/// One CSV record's fields (RFC 4180: quoted fields may hold commas, newlines and `""`).
fn csv_fields(text: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return Err("text after a quoted field".into()),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;

    fn schema() -> Schema {
        let attr = |name: &str, kind, required| Attribute {
            name: name.into(),
            kind,
            title: None,
            description: None,
            required,
        };
        Schema {
            schema_id: crate::SchemaId::new_random(),
            title: "M".into(),
            type_name: "Membership".into(),
            version: "1.0".into(),
            description: String::new(),
            attributes: vec![
                attr("age", AttributeType::Integer, true),
                attr("city", AttributeType::String, false),
                attr("member", AttributeType::Boolean, false),
            ],
            created_at: chrono::Utc::now(),
            visibility: Default::default(),
        }
    }

    fn read(format: Format, text: &str, chunk: usize) -> Result<Vec<NewRow>, BulkError> {
        let s = schema();
        let mut r = FileReader::new(format, s, true);
        let mut rows = Vec::new();
        for c in text.as_bytes().chunks(chunk) {
            rows.extend(r.push(c)?);
        }
        rows.extend(r.finish()?);
        Ok(rows)
    }

    #[test]
    fn csv_rows_are_typed_whatever_the_chunking() {
        let text = "\u{feff}email,age,city,onDuplicate\r\na@x.org,30,\"Paris, \"\"FR\"\"\",ignore\r\n\r\nB@X.org,41,\"multi\nline\",\n";
        for chunk in [1, 2, 7, 1000] {
            let rows = read(Format::Csv, text, chunk).unwrap();
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].row_no, 1);
            assert_eq!(rows[0].email_key.as_deref(), Some("a@x.org"));
            assert_eq!(rows[0].on_duplicate, OnDuplicate::Ignore);
            let s = rows[0].subject.as_ref().unwrap();
            assert_eq!(s["age"], Value::from(30));
            assert_eq!(s["city"], Value::from("Paris, \"FR\""));
            assert_eq!(rows[1].email_key.as_deref(), Some("b@x.org"));
            assert_eq!(rows[1].on_duplicate, OnDuplicate::Revoke);
            assert_eq!(rows[1].subject.as_ref().unwrap()["city"], "multi\nline");
        }
    }

    #[test]
    fn csv_row_errors_are_the_apis_words() {
        let text = "email,age,member\nnot-an-email,3,\nb@x.org,old,\nc@x.org,,true\nd@x.org,4,maybe\ne@x.org,5\n";
        let rows = read(Format::Csv, text, 5).unwrap();
        let errors: Vec<_> = rows.iter().map(|r| r.error.clone().unwrap()).collect();
        assert_eq!(
            errors,
            [
                "Invalid field email: is not an email address",
                "Invalid field credentialSubject.age: must be of type integer",
                "Invalid field credentialSubject.age: is required",
                "Invalid field credentialSubject.member: must be of type boolean (true or false)",
                "Invalid field row: has 2 fields, the header 3",
            ]
        );
    }

    #[test]
    fn bad_files_name_the_problem() {
        let cases = [
            ("", "empty"),
            ("email,age\n", "no rows"),
            ("age,city\n", "no email column"),
            ("email,city\n", "required attribute \"age\""),
            ("email,age,shoe\n", "\"shoe\" is not an attribute"),
            ("email,age,age\n", "appears twice"),
            ("email,age\n\"a@x.org,1\n", "quoted"),
        ];
        for (text, want) in cases {
            let e = read(Format::Csv, text, 3).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let e = read(Format::Csv, "email,age\n\u{0}\u{ff}", 64).map(|_| ());
        assert!(e.is_ok(), "NUL is text; invalid UTF-8 only once whole");
        let bytes = b"email,age\na@x.org,\xff\n";
        let s = schema();
        let mut r = FileReader::new(Format::Csv, s, false);
        assert!(r.push(bytes).unwrap_err().to_string().contains("UTF-8"));
    }

    #[test]
    fn jsonl_rows() {
        let text = concat!(
            r#"{"email":"a@x.org","credentialSubject":{"age":3},"onDuplicate":"ignore"}"#,
            "\n",
            r#"{"email":"b@x.org","credentialSubject":{"age":"3"}}"#,
            "\n[1]\n",
            r#"{"email":"c@x.org","credentialSubject":{"age":3},"extra":1}"#
        );
        let rows = read(Format::Jsonl, text, 4).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].error, None);
        assert_eq!(rows[0].on_duplicate, OnDuplicate::Ignore);
        assert_eq!(
            rows[1].error.as_deref(),
            Some("Invalid field credentialSubject.age: must be of type integer")
        );
        assert_eq!(
            rows[2].error.as_deref(),
            Some("Invalid field row: is not a JSON object")
        );
        assert_eq!(
            rows[3].error.as_deref(),
            Some("Invalid field extra: is not a field of a row")
        );
    }

    #[test]
    fn a_row_longer_than_the_limit_is_refused() {
        let long = format!("email,age\n{}\n", "a".repeat(MAX_ROW_BYTES + 1));
        for chunk in [4096, 1 << 20] {
            let e = read(Format::Csv, &long, chunk).unwrap_err();
            assert!(e.to_string().contains("longer than"), "{e}");
        }
    }
}
