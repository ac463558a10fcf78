//! JSON objects only where the wire contract says object.
//!
//! serde's derived `Deserialize` for a struct also reads a JSON array, matching its fields by
//! position (`["id", "rawId", …]` for a credential, `[]` for a begin body whose fields all have
//! defaults). The OpenAPI document says object, and clients are generated from it, so the
//! request bodies and the credential objects inside them are read through [`Object`], which
//! asks the parser for a map and nothing else, in the same single pass.

use std::{fmt, marker::PhantomData};

use serde::{
    de::{value::MapAccessDeserializer, MapAccess, Visitor},
    Deserialize, Deserializer,
};

/// A `T` that was a JSON object.
#[derive(Debug)]
pub(crate) struct Object<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Map<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Map<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Map(PhantomData)).map(Object)
    }
}

/// `#[serde(deserialize_with = "crate::json::object")]`: a member that must be a JSON object.
pub(crate) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Object::deserialize(d).map(|Object(v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Begin {
        #[serde(rename = "userId")]
        user_id: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        #[serde(deserialize_with = "object")]
        inner: Begin,
    }

    /// Arrays are refused where an object is meant, at the top and inside; objects read as
    /// the derived impl reads them.
    #[test]
    fn arrays_are_refused_where_an_object_is_meant() {
        // What the derived impl alone accepts: the reason this module exists.
        assert!(serde_json::from_str::<Begin>("[]").is_ok());
        assert!(serde_json::from_str::<Begin>(r#"["ann"]"#).is_ok());
        for array in ["[]", r#"["ann"]"#, "[null]"] {
            assert!(
                serde_json::from_str::<Object<Begin>>(array).is_err(),
                "{array}"
            );
            let nested = format!(r#"{{"inner": {array}}}"#);
            assert!(serde_json::from_str::<Outer>(&nested).is_err(), "{nested}");
        }
        for other in ["1", "\"x\"", "true"] {
            assert!(
                serde_json::from_str::<Object<Begin>>(other).is_err(),
                "{other}"
            );
        }
        let Object(b) = serde_json::from_str::<Object<Begin>>(r#"{"userId":"ann"}"#).unwrap();
        assert_eq!(b.user_id.as_deref(), Some("ann"));
        let Object(empty) = serde_json::from_str::<Object<Begin>>("{}").unwrap();
        assert_eq!(empty, Begin::default());
        let o: Outer = serde_json::from_str(r#"{"inner": {"userId": null}}"#).unwrap();
        assert_eq!(o.inner, Begin::default());
        // `null` stays `None` for an optional body.
        assert!(serde_json::from_str::<Option<Object<Begin>>>("null")
            .unwrap()
            .is_none());
    }
}
