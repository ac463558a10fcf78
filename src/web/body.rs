//! JSON request bodies with the crate's limits and error envelope.
//!
//! actix-web's `Json` extractor answers its own error bodies; these answer every failure —
//! wrong content type, oversize, unreadable, malformed, an array where the body is an object —
//! with a [`PasskeyError`] and never echo the input back.

use actix_web::{
    dev::Payload,
    http::header::CONTENT_LENGTH,
    web::{Bytes, BytesMut},
    FromRequest, HttpMessage, HttpRequest,
};
use futures_util::{
    future::{ready, LocalBoxFuture},
    StreamExt as _,
};
use serde::de::DeserializeOwned;

use crate::{error::PasskeyError, json::Object, web::service::Passkeys};

/// A required JSON body.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

/// An optional JSON body: an empty body (or `null`) is `None`; anything else must be valid.
#[derive(Debug)]
pub(crate) struct OptionalJsonBody<T>(pub(crate) Option<T>);

const MALFORMED: &str = "The request body is not valid JSON of the expected shape.";

fn is_json(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => {
            mime.type_() == mime::APPLICATION
                && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
        }
        _ => false,
    }
}

/// Reads the whole body within the limit of the route's [`Passkeys`] handle (500
/// `configuration_error` without one). `Ok(None)` when there is no body at all.
fn read(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<Option<Bytes>, PasskeyError>> {
    match Passkeys::from_req(req) {
        Ok(passkeys) => read_limited(passkeys.config().body_limit, req, payload),
        Err(e) => Box::pin(ready(Err(e))),
    }
}

/// Reads the whole body within `limit`. `Ok(None)` when there is no body at all.
fn read_limited(
    limit: usize,
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<Option<Bytes>, PasskeyError>> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let json = is_json(req);
    let mut payload = payload.take();
    Box::pin(async move {
        if declared.is_some_and(|len| len > limit) {
            return Err(PasskeyError::PayloadTooLarge);
        }
        let mut buf = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|_| PasskeyError::InvalidRequest("The request body could not be read."))?;
            if buf.len() + chunk.len() > limit {
                return Err(PasskeyError::PayloadTooLarge);
            }
            buf.extend_from_slice(&chunk);
        }
        if buf.is_empty() {
            return Ok(None);
        }
        if !json {
            return Err(PasskeyError::InvalidRequest(
                "Content-Type must be application/json.",
            ));
        }
        Ok(Some(buf.freeze()))
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = PasskeyError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read(req, payload);
        Box::pin(async move {
            let bytes = body.await?.ok_or(PasskeyError::InvalidRequest(
                "A JSON request body is required.",
            ))?;
            serde_json::from_slice(&bytes)
                .map(|Object(body)| JsonBody(body))
                .map_err(|_| PasskeyError::InvalidRequest(MALFORMED))
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = PasskeyError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read(req, payload);
        Box::pin(async move {
            match body.await? {
                None => Ok(OptionalJsonBody(None)),
                Some(bytes) => serde_json::from_slice::<Option<Object<T>>>(&bytes)
                    .map(|body| OptionalJsonBody(body.map(|Object(b)| b)))
                    .map_err(|_| PasskeyError::InvalidRequest(MALFORMED)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{http::header::CONTENT_TYPE, test::TestRequest};

    use super::*;

    const LIMIT: usize = 1024;

    /// Reads `body` with a declared `Content-Length` of `declared` under a 1 KiB limit.
    async fn read_with(body: usize, declared: usize) -> Result<Option<Bytes>, PasskeyError> {
        let (req, mut payload) = TestRequest::post()
            .insert_header((CONTENT_TYPE, "application/json"))
            .set_payload(vec![b' '; body])
            .insert_header((CONTENT_LENGTH, declared.to_string()))
            .to_http_parts();
        read_limited(LIMIT, &req, &mut payload).await
    }

    /// Exactly the limit is read; one byte more is 413, whether the length is declared or
    /// only streamed (a declared length smaller than the body does not lift the limit).
    #[actix_rt::test]
    async fn the_limit_is_inclusive_declared_or_streamed() {
        assert!(read_with(LIMIT, LIMIT).await.is_ok());
        assert!(matches!(
            read_with(LIMIT + 1, LIMIT + 1).await,
            Err(PasskeyError::PayloadTooLarge)
        ));
        assert!(matches!(
            read_with(LIMIT + 1, 1).await,
            Err(PasskeyError::PayloadTooLarge)
        ));
        assert!(read_with(LIMIT, 1).await.is_ok());
        // A declared length over the limit is refused before anything is read.
        assert!(matches!(
            read_with(10, LIMIT + 1).await,
            Err(PasskeyError::PayloadTooLarge)
        ));
    }

    #[test]
    fn json_is_application_json_or_a_json_suffix() {
        let is = |ct: &str| {
            is_json(
                &TestRequest::post()
                    .insert_header((CONTENT_TYPE, ct))
                    .to_http_request(),
            )
        };
        assert!(is("application/json"));
        assert!(is("application/json; charset=utf-8"));
        assert!(is("application/vnd.api+json"));
        assert!(!is("text/json"));
        assert!(!is("text/plain"));
        assert!(!is("application/xml"));
    }
}
