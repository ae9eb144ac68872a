//! Validation errors name the field that is wrong and why, never its value:
//! a rejected personal identity number must not travel back in an error body
//! or into a log line.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer-ish path of the offending field, e.g. `signs_of_progress[2]`.
    pub field: String,
    /// What is wrong with it, without repeating the value.
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }

    /// Collects the error of one field's parse and hands back the value if it parsed.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }

    pub fn into_fields(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok(value)` when nothing was collected, for the end of a parse function.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.is_empty() { Ok(value()) } else { Err(self) }
    }
}

/// Checks that a free-text field is within bounds. Texts are stored as given.
pub fn text(errors: &mut ValidationErrors, field: &str, value: &str, max_chars: usize, required: bool) {
    if required && value.trim().is_empty() {
        errors.add(field, "must not be empty");
    } else if value.chars().count() > max_chars {
        errors.add(field, format!("must be at most {max_chars} characters"));
    }
}
