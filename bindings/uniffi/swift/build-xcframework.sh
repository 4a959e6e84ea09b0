#!/bin/sh
# Builds EvidentiaFFI.xcframework (iOS devices, iOS simulators, macOS) and generates
# Sources/Evidentia/Evidentia.swift beside Package.swift. Runs on macOS with Xcode
# and rustup; it cannot run on Linux (no Apple SDKs), so CI there only generates the
# Swift sources (cargo xtask test kotlin).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"

ios=aarch64-apple-ios
simulators="aarch64-apple-ios-sim x86_64-apple-ios"
macs="aarch64-apple-darwin x86_64-apple-darwin"
for target in $ios $simulators $macs; do
    rustup target add "$target"
    # A static library for each Apple platform; the workspace builds only the cdylib.
    cargo rustc --release -p evidentia-uniffi --target "$target" --crate-type staticlib
done

# The Swift sources and the C header, from the library's own metadata.
cargo build --release -p evidentia-uniffi
cargo build -p uniffi-bindgen
out=build/uniffi/apple
rm -rf "$out" && mkdir -p "$out/headers" "$here/Sources/Evidentia"
target/debug/uniffi-bindgen generate --no-format --language swift \
    --library target/release/libevidentia_uniffi.dylib --out-dir "$out/swift"
cp "$out/swift/Evidentia.swift" "$here/Sources/Evidentia/Evidentia.swift"
cp "$out/swift/EvidentiaFFI.h" "$out/headers/"
cp "$out/swift/EvidentiaFFI.modulemap" "$out/headers/module.modulemap"

lib=libevidentia_uniffi.a
lipo -create $(for t in $simulators; do echo "target/$t/release/$lib"; done) -output "$out/simulators.a"
lipo -create $(for t in $macs; do echo "target/$t/release/$lib"; done) -output "$out/macos.a"
rm -rf "$here/EvidentiaFFI.xcframework"
xcodebuild -create-xcframework \
    -library "target/$ios/release/$lib" -headers "$out/headers" \
    -library "$out/simulators.a" -headers "$out/headers" \
    -library "$out/macos.a" -headers "$out/headers" \
    -output "$here/EvidentiaFFI.xcframework"
echo "built $here/EvidentiaFFI.xcframework and $here/Sources/Evidentia/Evidentia.swift"
