//! Evidence logs on the local disk: crash-safe, append-only, with a Merkle tree
//! index for O(log n) proofs. This crate is the only place where Evidentia touches
//! files or reads the clock; everything it stores is made and checked by the
//! `evidentia` core.
//!
//! A log directory holds (SPEC.md §16 has the byte layout):
//! - `log.json`: the log's id, signing mode and key file;
//! - `keys.jwks`: the history of the log's public keys with their validity;
//! - `segments/*.seg`: the entries, framed and checksummed, appended and flushed to
//!   stable storage before an append returns;
//! - `checkpoints.log`: every signed checkpoint, framed;
//! - `timestamps/`: RFC 3161 timestamps of checkpoints, with their certificate chains;
//! - `witness/`: the size each witness last cosigned, and cosigned checkpoints;
//! - `index`, `tree`, `nonces`, `fields` (with `fields.postings`): an entry index,
//!   the Merkle tree's node hashes, the nonce index and the index of the payload
//!   fields `log.json` names, derived from the segments and rebuilt from them when
//!   needed;
//!   `state.json` says how far they are known to be on stable storage;
//! - `.lock`: held by the one process that writes the log; `.commit`: held while a
//!   writer changes the files, and shared while a reader takes its snapshot.
//!
//! The code, a file per job: [`Log`] the writer (`writer.rs`) and what opening it
//! repairs (`recovery.rs`); [`LogReader`] a snapshot for reading (`reader.rs`), the
//! reads both share (`view.rs`) and parallel verification (`pipeline.rs`); the files
//! (`segments.rs`, `index.rs`, `tree.rs`, `nonces.rs` and `fields.rs` on one hash
//! table (`table.rs`), `checkpoints.rs`,
//! `state.rs`, `config.rs`, framed by `frame.rs`); every file operation through one
//! seam (`fsio.rs`) that tests fail on purpose ([`Faults`]); evidence packages and
//! RFC 3161 timestamps (`package.rs`, `timestamps.rs`); witnesses' cosignatures
//! (`witnessing.rs`); publishing as C2SP tlog-tiles and verifying a publication
//! (`tiles.rs`).
#![forbid(unsafe_code)]

mod any;
mod archive;
mod checkpoints;
mod config;
mod copy;
mod erasure;
mod faults;
mod fields;
mod frame;
mod fsio;
mod index;
mod messages;
pub mod metrics;
mod monitor;
mod nonces;
mod package;
#[cfg(feature = "postgres")]
pub mod pg;
mod pipeline;
mod reader;
mod recovery;
mod segments;
mod state;
mod table;
mod tiles;
mod timestamps;
mod tree;
mod view;
mod witnessing;
mod writer;

pub use any::{AnyLog, is_postgres_url, is_publication_url, postgres_location, postgres_url};
pub use archive::Archived;
pub use checkpoints::StoredCheckpoint;
pub use config::{MAX_INDEX_FIELDS, Mode, validate_index_field};
pub use erasure::Hold;
pub use faults::{FaultError, Faults, Op};
pub use fsio::Wait;
pub use monitor::{FindingKind, MonitorFinding, MonitorRound, monitor_round, monitor_tiles_round};
pub use package::{export_package, export_package_disclosing, read_package};
pub use reader::{LogReader, verify_dir, verify_dir_from};
pub use recovery::Recovery;
pub use segments::{Entry, EntryRef};
pub use tiles::{
    CHECKPOINT as TILES_CHECKPOINT, Published, PublishedTree, TileSource, TilesDir, TilesVerification, is_tiles_dir,
    publish, verify_tiles,
};
pub use timestamps::{StoredTimestamp, attach_timestamp, attach_timestamp_with};
pub use witnessing::{
    cosigned_checkpoint, record_tlog_proof, record_witness_size, store_cosigned, witness_policy, witness_sizes,
};
pub use writer::{
    AppendOptions, Appended, CreateOptions, DEFAULT_RECORD_VERSION, InvalidEvent, Log, LogOptions, NewEvent,
    PrefixAppended, now,
};
