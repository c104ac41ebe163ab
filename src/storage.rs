//! Where the bytes of uploaded files live: an [`object_store`] store, a local directory by
//! default and S3-compatible storage when `CHATGRAPH_STORAGE_URL` says so. The database keeps
//! each file's metadata and storage key; this module only puts, reads and deletes bytes.

use std::{path::Path, sync::Arc};

use anyhow::Context as _;
use object_store::{ObjectStore, PutPayload, local::LocalFileSystem, path::Path as StorePath};

/// The file store and the upload limit.
#[derive(Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// Largest file an upload may carry, in bytes.
    pub max_upload_bytes: usize,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("store", &self.store.to_string())
            .field("max_upload_bytes", &self.max_upload_bytes)
            .finish()
    }
}

impl FileStore {
    /// Files in the local directory `dir` (created when missing).
    pub fn local(dir: &Path, max_upload_bytes: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(dir).with_context(|| format!("opening {}", dir.display()))?;
        Ok(FileStore {
            store: Arc::new(store),
            max_upload_bytes,
        })
    }

    /// The store named by `url` (`s3://bucket/prefix`, `file:///dir`, ...), configured by the
    /// `AWS_*` environment variables where it needs credentials.
    pub fn from_url(url: &str, max_upload_bytes: usize) -> anyhow::Result<Self> {
        let parsed = reqwest::Url::parse(url).context("CHATGRAPH_STORAGE_URL is not a URL")?;
        let options = std::env::vars()
            .filter(|(key, _)| key.starts_with("AWS_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v));
        let (store, prefix) =
            object_store::parse_url_opts(&parsed, options).context("opening CHATGRAPH_STORAGE_URL")?;
        let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
            Arc::from(store)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
        };
        Ok(FileStore {
            store,
            max_upload_bytes,
        })
    }

    /// Stores `bytes` under `key`.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store
            .put(&StorePath::from(key), PutPayload::from(bytes))
            .await
            .with_context(|| format!("storing file {key}"))?;
        Ok(())
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        let result = self
            .store
            .get(&StorePath::from(key))
            .await
            .with_context(|| format!("reading file {key}"))?;
        Ok(result.bytes().await?.to_vec())
    }

    /// Deletes what is stored under `key` (nothing there is no error).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error).with_context(|| format!("deleting file {key}")),
        }
    }
}
