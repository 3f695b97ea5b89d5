//! Errors of the domain rules, independent of transport.

/// A rule of the domain was broken by the caller's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field is missing or malformed; `field` is the JSON name the caller used.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl DomainError {
    /// The message the API answers with (a 400, or a bulk issuance row's error).
    pub fn message(&self) -> String {
        match self {
            DomainError::Invalid { field, message } => format!("Invalid field {field}: {message}"),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
