//! Typed JSON helpers on top of any [`StateBackend`].

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::{Expect, StateBackend, Version};
use crate::error::{Result, StateError};

/// JSON convenience methods, available on every [`StateBackend`] (including
/// `dyn StateBackend`).
#[async_trait]
pub trait JsonStateExt: StateBackend {
    /// Reads and deserializes a value; `None` if absent. A value that does not
    /// deserialize is [`StateError::Serialization`] naming the key.
    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<(T, Version)>> {
        match self.get(key).await? {
            None => Ok(None),
            Some(v) => {
                let t = serde_json::from_slice(&v.value).map_err(|source| {
                    StateError::Serialization {
                        key: key.to_owned(),
                        source,
                    }
                })?;
                Ok(Some((t, v.version)))
            }
        }
    }

    /// Serializes and writes a value.
    async fn set_json<T: Serialize + Sync + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        let bytes = to_bytes(key, value)?;
        self.set(key, bytes, ttl).await
    }

    /// Serializes and compare-and-sets a value.
    async fn compare_and_set_json<T: Serialize + Sync + ?Sized>(
        &self,
        key: &str,
        expect: Expect,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        let bytes = to_bytes(key, value)?;
        self.compare_and_set(key, expect, bytes, ttl).await
    }
}

impl<B: StateBackend + ?Sized> JsonStateExt for B {}

fn to_bytes<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|source| StateError::Serialization {
            key: key.to_owned(),
            source,
        })
}
