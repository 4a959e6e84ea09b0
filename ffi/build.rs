//! Gives the shared library the soname it is installed under: libevidentia.so.0.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libevidentia.so.0");
    }
}
