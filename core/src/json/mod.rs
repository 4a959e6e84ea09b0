//! JSON: a strict parser, an in-memory [`Value`], and RFC 8785 canonicalization.

mod canonical;
mod parse;
mod tree;
mod value;

pub use canonical::{canonicalize, canonicalize_value, canonicalize_with, to_pretty_string};
pub(crate) use canonical::{compare_names, write_string};
pub use parse::{MAX_DEPTH_LIMIT, ParseOptions, parse, parse_with};
pub use value::{MAX_SAFE_INTEGER, Number, Value};
