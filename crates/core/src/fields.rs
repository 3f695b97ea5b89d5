//! Rules for the fields that several operator request bodies share, so a name, a description
//! or a list is refused with the same message whichever resource it belongs to.

use crate::DomainError;

/// A required display name (`field`): trimmed, 1 to 200 characters, no control characters.
pub(crate) fn validate_name(name: Option<&str>, field: &str) -> Result<String, DomainError> {
    let name = name
        .map(str::trim)
        .ok_or_else(|| DomainError::invalid(field, "is required"))?;
    if name.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > 200 {
        return Err(DomainError::invalid(
            field,
            "must be at most 200 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// An optional free-text description: absent is empty, at most 2000 characters.
pub(crate) fn validate_description(d: Option<String>) -> Result<String, DomainError> {
    let d = d.unwrap_or_default();
    crate::text::check_storable("description", &d)?;
    if d.chars().count() > 2000 {
        return Err(DomainError::invalid(
            "description",
            "must be at most 2000 characters",
        ));
    }
    Ok(d)
}

/// A required list `field` of 1 to `max` `items` (the message names what it lists): a body
/// is read whole, so every list in one is bounded.
pub(crate) fn check_list_len<T>(
    field: &str,
    list: &[T],
    max: usize,
    items: &str,
) -> Result<(), DomainError> {
    if list.is_empty() || list.len() > max {
        return Err(DomainError::invalid(
            field,
            format!("must list between 1 and {max} {items}"),
        ));
    }
    Ok(())
}
