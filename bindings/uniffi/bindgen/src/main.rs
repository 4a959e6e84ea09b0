//! `uniffi-bindgen`, pinned by the workspace's lock file to the UniFFI version the
//! library is built with: `uniffi-bindgen generate --library <libevidentia_uniffi.so>
//! --language kotlin --language swift --out-dir <dir>`.

fn main() {
    uniffi::uniffi_bindgen_main();
}
