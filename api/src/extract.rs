//! Extractors that turn HTTP input into typed values or problem+json errors:
//! JSON bodies (with the offending field named, never its value), `If-Match`
//! preconditions, and cursor paging (the `limit` of every list, and a page
//! of a query with its next cursor).

use crate::config::SecretKey;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine as _;
use futures_util::future::LocalBoxFuture;
use samplan_domain::ValidationErrors;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The whole request body must arrive within this time of the request head,
/// or the answer is 408 and the connection is closed (a stalled head is cut
/// off after the same time by the server's client request timeout).
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Gives the request's body stream a deadline [`BODY_TIMEOUT`] from now: a
/// body still unfinished then ends in an I/O "timed out" error, which
/// [`body_error`] answers with 408.
pub fn with_body_deadline(payload: Payload) -> Payload {
    use futures_util::StreamExt as _;
    let deadline = tokio::time::Instant::now() + BODY_TIMEOUT;
    let stream = futures_util::stream::unfold(Some(payload), move |state| async move {
        let mut payload = state?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => {
                let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "request body timed out");
                Some((Err(actix_web::error::PayloadError::Io(timed_out)), None))
            }
        }
    });
    Payload::Stream { payload: Box::pin(stream) }
}

/// What a failure to read the request body is answered with.
pub fn body_error(error: &actix_web::Error) -> ApiError {
    use actix_web::error::PayloadError;
    match error.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => ApiError::PayloadTooLarge,
        Some(PayloadError::Io(io)) if io.kind() == std::io::ErrorKind::TimedOut => ApiError::RequestTimeout,
        _ => ApiError::BadRequest("The request body could not be read.".into()),
    }
}

/// A JSON request body, deserialized with unknown fields rejected.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"));
        let too_large = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|len| len > BODY_LIMIT);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if too_large {
                return Err(ApiError::PayloadTooLarge);
            }
            let bytes = bytes.await.map_err(|error| body_error(&error))?;
            if bytes.len() > BODY_LIMIT {
                return Err(ApiError::PayloadTooLarge);
            }
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            parse_json(&bytes).map(Body)
        })
    }
}

/// Deserializes JSON, reporting the path of the field that failed. serde's
/// own messages quote the offending value ("invalid type: string \"…\""), so
/// they are rewritten to say only what was expected. Numbers count as JSON
/// Schema counts them: `4.0` is the integer `4`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| ApiError::BadRequest("The request body is not well-formed JSON.".into()))?;
    integral_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = field_path(error.path());
        let (field, message) = describe_data_error(&path, &error.into_inner().to_string());
        ApiError::Validation(ValidationErrors::single(field, message))
    })
}

fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            let float = number.as_f64().unwrap_or(f64::NAN);
            // Within ±2^53 every float is exact, so the integer is the same number.
            if float.fract() == 0.0 && float.abs() <= 9_007_199_254_740_992.0 {
                *number = serde_json::Number::from(float as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// Whether a client-sent object key may be repeated in an error: it looks
/// like a field name (lower-case ASCII letters, digits and underscores,
/// starting with a letter, at most 64 characters). A personal identity
/// number sent as a key never does.
pub fn is_field_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Stands in for a key that is not repeated.
const UNNAMED_KEY: &str = "*";

/// A client-sent key as it may appear in the name of a field in an error:
/// itself when it looks like a field name, else `*`.
pub fn key_in_field(key: &str) -> &str {
    if is_field_name(key) { key } else { UNNAMED_KEY }
}

/// The path of the failing value, e.g. `frames.af_vasteras` or `signs[2]`;
/// an object key that does not look like a field name is written as `*`.
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if is_field_name(key) { key } else { UNNAMED_KEY });
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    if out.is_empty() { ".".into() } else { out }
}

fn describe_data_error(path: &str, raw: &str) -> (String, String) {
    // serde_json appends " at line L column C".
    let message = raw.rsplit_once(" at line ").map_or(raw, |(message, _)| message);
    let within = |field: &str| {
        if path.is_empty() || path == "." { field.to_owned() } else { format!("{path}.{field}") }
    };
    let quoted = |s: &str| {
        s.split('`').nth(1).map(|key| if is_field_name(key) { key.to_owned() } else { UNNAMED_KEY.to_owned() })
    };
    // Rust's integer type names mean nothing to an integrator.
    let expected = |s: &str| {
        s.split_once(", expected ").map(|(_, e)| match e {
            "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => "an integer".to_owned(),
            other => other.to_owned(),
        })
    };
    let here = if path.is_empty() || path == "." { "body".to_owned() } else { path.to_owned() };
    if message.starts_with("unknown field") {
        // The path already ends in the unknown field.
        let field = if path.is_empty() || path == "." { quoted(message).unwrap_or_default() } else { path.to_owned() };
        let message = if field.ends_with(UNNAMED_KEY) {
            "unknown field (a key that is not a field name is not repeated)"
        } else {
            "unknown field"
        };
        (field, message.into())
    } else if message.starts_with("missing field") {
        let field = quoted(message).unwrap_or_default();
        (within(&field), "is required".into())
    } else if message.starts_with("invalid type") {
        (here, format!("wrong type, expected {}", expected(message).unwrap_or_else(|| "another type".into())))
    } else if message.starts_with("invalid value") || message.starts_with("invalid length") {
        (here, format!("invalid value, expected {}", expected(message).unwrap_or_else(|| "another value".into())))
    } else if message.starts_with("unknown variant") {
        (here, format!("unknown value, expected {}", expected(message).unwrap_or_else(|| "a listed value".into())))
    } else if message.contains("premature end of input")
        || message.contains("input contains invalid characters")
        || message.contains("input is out of range")
        || message.contains("trailing input")
        || message.contains("no possible date and time")
        || message.contains("input is not enough")
    {
        (here, "not a valid date or time (use YYYY-MM-DD or RFC 3339)".into())
    } else if message.starts_with("invalid character") || message.starts_with("invalid length") || message.starts_with("invalid group") {
        (here, "not a valid id".into())
    } else {
        // Our own domain types' messages, which never carry the value.
        (here, message.to_owned())
    }
}

/// The ETag of a versioned object.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The `If-Match` precondition an update must carry.
#[derive(Debug, Clone)]
pub struct IfMatch(Vec<String>);

impl IfMatch {
    /// 412 with the current ETag unless one of the given tags is current.
    pub fn check(&self, current_version: i64) -> Result<(), ApiError> {
        if self.matches(current_version) { Ok(()) } else { Err(ApiError::precondition_failed(current_version)) }
    }

    pub fn matches(&self, current_version: i64) -> bool {
        let current = etag(current_version);
        self.0.iter().any(|tag| tag == "*" || *tag == current)
    }

    /// The version the client expects, when it named exactly one.
    pub fn expected_version(&self) -> Option<i64> {
        match self.0.as_slice() {
            [one] => one.trim_matches('"').parse().ok(),
            _ => None,
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tags: Vec<String> = req
            .headers()
            .get_all(header::IF_MATCH)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        std::future::ready(if tags.is_empty() { Err(ApiError::PreconditionRequired) } else { Ok(IfMatch(tags)) })
    }
}

/// `limit` and `cursor` of a list request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–500 (default 50; larger values are capped at 500).
    #[param(minimum = 1, example = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; omit for the first page.
    // 16 bytes in unpadded base64url.
    #[param(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 500;

/// A validated page request: fetch `limit` items after `after`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: u64,
    pub after: Option<Uuid>,
}

impl PageQuery {
    pub fn page(&self) -> Result<Page, ApiError> {
        Ok(Page { limit: limit(self.limit)?, after: self.cursor.as_deref().map(decode_cursor).transpose()? })
    }
}

/// The `limit` of every list: at least 1, 50 when absent, at most 500
/// (larger values are capped).
pub fn limit(requested: Option<i64>) -> Result<u64, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) => u64::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n.min(MAX_LIMIT))
            .ok_or_else(|| ApiError::BadRequest("limit must be at least 1.".into())),
    }
}

impl Page {
    /// This page of `select`, a list in the order of its `id` column
    /// (`id_of` its value): the rows after the cursor, and the cursor of the
    /// next page.
    pub async fn fetch<E: EntityTrait, C: ConnectionTrait>(
        self,
        db: &C,
        select: Select<E>,
        id: E::Column,
        id_of: impl Fn(&E::Model) -> Uuid,
    ) -> Result<(Vec<E::Model>, Option<String>), ApiError> {
        let select = match self.after {
            Some(after) => select.filter(id.gt(after)),
            None => select,
        };
        fetch_page(db, select.order_by_asc(id), self.limit, |last| encode_cursor(id_of(last))).await
    }
}

/// Up to `limit` rows of `select` (ordered by what its cursors count), and
/// the cursor after the last of them (`cursor_of`) when more rows follow.
pub async fn fetch_page<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    select: Select<E>,
    limit: u64,
    cursor_of: impl Fn(&E::Model) -> String,
) -> Result<(Vec<E::Model>, Option<String>), ApiError> {
    // One more row than asked for says whether a next page exists; it is
    // neither returned nor audited.
    let rows = select.limit(limit + 1).all(db).await?;
    Ok(split_page(rows, limit, cursor_of))
}

fn split_page<T>(mut rows: Vec<T>, limit: u64, cursor_of: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more { rows.last().map(cursor_of) } else { None };
    (rows, next_cursor)
}

pub fn encode_cursor(last: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes())
}

fn bad_cursor() -> ApiError {
    ApiError::BadRequest("The cursor is not one this API handed out.".into())
}

/// A position sealed with the server key for one owner (e.g. association and
/// organisation), so that a client can neither read it nor make one up.
///
/// The position goes through a keyed 64-bit permutation (a four-round
/// Feistel network whose round function is [`SecretKey::mac`]), so two
/// cursors say nothing about how far apart their positions are, and a MAC
/// over the result binds it to the owner: any other string is 400. Sealing is
/// deterministic: the same position gives the same cursor.
pub fn seal_position(key: &SecretKey, owner: &[&[u8]], position: i64) -> String {
    let sealed = feistel(key, owner, position as u64, false).to_be_bytes();
    let mut bytes = sealed.to_vec();
    bytes.extend_from_slice(&cursor_tag(key, owner, &sealed));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The position of a cursor made by [`seal_position`] for the same owner.
pub fn open_position(key: &SecretKey, owner: &[&[u8]], cursor: &str) -> Result<i64, ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad_cursor())?;
    let bytes = <[u8; 16]>::try_from(bytes).map_err(|_| bad_cursor())?;
    let (sealed, tag) = bytes.split_at(8);
    let sealed: [u8; 8] = sealed.try_into().expect("8 bytes");
    // Constant time is not needed for secrecy here, but costs nothing.
    let expected = cursor_tag(key, owner, &sealed);
    if expected.iter().zip(tag).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
        return Err(bad_cursor());
    }
    let position = feistel(key, owner, u64::from_be_bytes(sealed), true) as i64;
    if position < 0 {
        return Err(bad_cursor());
    }
    Ok(position)
}

/// A listing's place (`after`) and the last position it will reach
/// (`until`, fixed by its first page), both sealed like [`seal_position`]:
/// a listing whose own reading adds rows (the audit log) still comes to an
/// end, and the cursor tells the client nothing about either number.
pub fn seal_window(key: &SecretKey, owner: &[&[u8]], after: i64, until: i64) -> String {
    let bound: Vec<&[u8]> = owner.iter().copied().chain([&b"until"[..]]).collect();
    format!("{}.{}", seal_position(key, owner, after), seal_position(key, &bound, until))
}

/// `(after, until)` of a cursor made by [`seal_window`] for the same owner.
pub fn open_window(key: &SecretKey, owner: &[&[u8]], cursor: &str) -> Result<(i64, i64), ApiError> {
    let (after, until) = cursor.split_once('.').ok_or_else(bad_cursor)?;
    let bound: Vec<&[u8]> = owner.iter().copied().chain([&b"until"[..]]).collect();
    Ok((open_position(key, owner, after)?, open_position(key, &bound, until)?))
}

/// The OpenAPI pattern of a [`seal_window`] cursor.
pub const WINDOW_CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]{21}[AQgw][.][A-Za-z0-9_-]{21}[AQgw]$";

fn cursor_tag(key: &SecretKey, owner: &[&[u8]], sealed: &[u8; 8]) -> [u8; 8] {
    let parts: Vec<&[u8]> = owner.iter().copied().chain(std::iter::once(&sealed[..])).collect();
    key.mac("samplan cursor tag v1", &parts)[..8].try_into().expect("8 bytes")
}

/// A keyed permutation of 64-bit values: four Feistel rounds over 32-bit
/// halves (Luby–Rackoff), `inverse` undoing them.
fn feistel(key: &SecretKey, owner: &[&[u8]], value: u64, inverse: bool) -> u64 {
    const ROUNDS: u8 = 4;
    let round = |i: u8, half: u32| -> u32 {
        let half = half.to_be_bytes();
        let round = [i];
        let parts: Vec<&[u8]> = owner.iter().copied().chain([&round[..], &half[..]]).collect();
        let mac = key.mac("samplan cursor feistel v1", &parts);
        u32::from_be_bytes(mac[..4].try_into().expect("4 bytes"))
    };
    let (mut left, mut right) = ((value >> 32) as u32, value as u32);
    if inverse {
        for i in (0..ROUNDS).rev() {
            (left, right) = (right ^ round(i, left), left);
        }
    } else {
        for i in 0..ROUNDS {
            (left, right) = (right, left ^ round(i, right));
        }
    }
    (u64::from(left) << 32) | u64::from(right)
}

fn decode_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(bad_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        value: u8,
    }

    fn field_error(body: &str) -> (String, String) {
        match parse_json::<Sample>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => {
                let e = &errors.fields()[0];
                (e.field.clone(), e.message.clone())
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn names_the_field_not_the_value() {
        let (field, message) = field_error(r#"{"name": 198112189876, "value": 1}"#);
        assert_eq!(field, "name");
        assert!(!message.contains("198112189876"), "{message}");
        let (field, message) = field_error(r#"{"name": "x", "value": 1, "extra": 2}"#);
        assert_eq!((field.as_str(), message.as_str()), ("extra", "unknown field"));
        let (field, message) = field_error(r#"{"value": 1}"#);
        assert_eq!((field.as_str(), message.as_str()), ("name", "is required"));
    }

    #[test]
    fn keys_that_are_not_field_names_are_not_repeated() {
        for key in ["19811218-9876", "198112189876", "Name", "<script>", "1abc", &"a".repeat(65)] {
            let (field, message) = field_error(&format!(r#"{{"name": "x", "value": 1, "{key}": 2}}"#));
            assert_eq!(field, "*", "{key}");
            assert!(!message.contains(key), "{message}");
        }
        let (field, _) = field_error(r#"{"name": "x", "value": 1, "favourite_colour": 2}"#);
        assert_eq!(field, "favourite_colour");
        let mut nested = std::collections::BTreeMap::new();
        nested.insert("frames", serde_json::json!({"af_vasteras": 1, "19811218-9876": 2}));
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Framed {
            frames: std::collections::BTreeMap<String, String>,
        }
        let error = parse_json::<Framed>(serde_json::to_string(&nested).unwrap().as_bytes()).unwrap_err();
        let ApiError::Validation(errors) = error else { panic!("a validation error") };
        assert!(["frames.*", "frames.af_vasteras"].contains(&errors.fields()[0].field.as_str()));
        assert!(!format!("{errors:?}").contains("9876"));
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(parse_json::<Sample>(b"{\"name\": "), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse_json::<Sample>(b"{} x"), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let id = Uuid::now_v7();
        let query = PageQuery { limit: Some(10_000), cursor: Some(encode_cursor(id)) };
        let page = query.page().unwrap();
        assert_eq!((page.limit, page.after), (MAX_LIMIT, Some(id)));
        let bad = PageQuery { limit: None, cursor: Some("not-a-cursor".into()) };
        assert!(matches!(bad.page(), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn limit_is_parsed_one_way() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(Some(1)).unwrap(), 1);
        assert_eq!(limit(Some(500)).unwrap(), 500);
        assert_eq!(limit(Some(501)).unwrap(), MAX_LIMIT);
        assert_eq!(limit(Some(i64::MAX)).unwrap(), MAX_LIMIT);
        for bad in [0, -1, i64::MIN] {
            let Err(ApiError::BadRequest(why)) = limit(Some(bad)) else { panic!("{bad} is refused") };
            assert_eq!(why, "limit must be at least 1.");
        }
    }

    #[test]
    fn a_page_has_a_next_cursor_only_when_more_rows_follow() {
        let cursor = |n: &u32| format!("after-{n}");
        assert_eq!(split_page(vec![1, 2, 3], 2, cursor), (vec![1, 2], Some("after-2".to_owned())));
        assert_eq!(split_page(vec![1, 2], 2, cursor), (vec![1, 2], None));
        assert_eq!(split_page(vec![1], 2, cursor), (vec![1], None));
        assert_eq!(split_page(Vec::<u32>::new(), 2, cursor), (vec![], None));
    }

    fn key() -> SecretKey {
        SecretKey::new(*b"a-test-key-of-thirty-two-bytes!!").unwrap()
    }

    #[test]
    fn sealed_positions_open_only_for_their_owner() {
        let owner: &[&[u8]] = &[b"vastmanland", b"af-vasteras"];
        for position in [0, 1, 2, 41, 1 << 40, i64::MAX] {
            let cursor = seal_position(&key(), owner, position);
            assert_eq!(seal_position(&key(), owner, position), cursor, "deterministic");
            assert_eq!(open_position(&key(), owner, &cursor).unwrap(), position);
            assert!(open_position(&key(), &[b"vastmanland", b"vasteras-kommun"], &cursor).is_err(), "another owner");
            let other = SecretKey::new(*b"another-key-of-thirty-two-bytes!").unwrap();
            assert!(open_position(&other, owner, &cursor).is_err(), "another key");
        }
        // Every single-character change is refused.
        let cursor = seal_position(&key(), owner, 7);
        for i in 0..cursor.len() {
            for c in ['A', 'f', '0', '_'] {
                let mut tampered = cursor.clone();
                tampered.replace_range(i..=i, &c.to_string());
                if tampered != cursor {
                    assert!(open_position(&key(), owner, &tampered).is_err(), "{tampered}");
                }
            }
        }
        assert!(open_position(&key(), owner, &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(7i64.to_be_bytes())).is_err(), "a plain number");
    }

    #[test]
    fn sealed_neighbours_look_unrelated() {
        let owner: &[&[u8]] = &[b"vastmanland", b"af-vasteras"];
        let sealed = |p: i64| {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(seal_position(&key(), owner, p)).unwrap();
            u64::from_be_bytes(bytes[..8].try_into().unwrap())
        };
        // Consecutive positions differ in about half their 64 bits, not in the last few.
        let flipped: u32 = (0..200).map(|p| (sealed(p) ^ sealed(p + 1)).count_ones()).sum();
        let mean = f64::from(flipped) / 200.0;
        assert!((26.0..38.0).contains(&mean), "{mean}");
    }
}
