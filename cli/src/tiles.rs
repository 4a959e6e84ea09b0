//! Logs published as C2SP tlog-tiles: `log publish`, and reading a publication
//! from a folder or a web server for `log verify` and `log monitor`.

use std::path::Path;
use std::time::Duration;

use evidentia::{Error, ErrorCode};
use evidentia_store::{TileSource, TilesDir, is_tiles_dir};

/// Seconds to wait for each tile, bundle or checkpoint fetched.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// A publication served over HTTP(S) below a URL prefix.
struct HttpTiles {
    prefix: String,
    agent: ureq::Agent,
}

impl TileSource for HttpTiles {
    fn get(&self, path: &str, max: u64) -> Result<Option<Vec<u8>>, Error> {
        let url = format!("{}/{path}", self.prefix);
        let failed = |e: ureq::Error| match e {
            ureq::Error::BodyExceedsLimit(_) => {
                Error::new(ErrorCode::LogCorrupt, format!("{url} is longer than any such file ({max} bytes)"))
            }
            e => Error::new(ErrorCode::Io, format!("{url}: {e}")),
        };
        let mut response = self.agent.get(&url).call().map_err(failed)?;
        match response.status().as_u16() {
            200 => {}
            404 | 410 => return Ok(None),
            status => return Err(Error::new(ErrorCode::Io, format!("{url}: the server answered {status}"))),
        }
        Ok(Some(response.body_mut().with_config().limit(max).read_to_vec().map_err(failed)?))
    }

    fn location(&self) -> String {
        self.prefix.clone()
    }
}

/// The publication `source` names: an `http://` or `https://` prefix, or a folder
/// holding a published checkpoint and no log; `None` for anything else (a log).
pub(crate) fn publication(source: &Path) -> Option<Box<dyn TileSource>> {
    let text = source.to_str().unwrap_or_default();
    if evidentia_store::is_publication_url(text) {
        let prefix = text.trim_end_matches('/').to_owned();
        return Some(Box::new(HttpTiles { prefix, agent: crate::witness_client::agent(FETCH_TIMEOUT) }));
    }
    is_tiles_dir(source).then(|| Box::new(TilesDir(source.to_path_buf())) as Box<dyn TileSource>)
}
