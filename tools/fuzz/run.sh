#!/bin/sh
# Fuzzes the model bundle parser with libFuzzer + AddressSanitizer.
#
#   tools/fuzz/run.sh [SECONDS]      (default 30)
#
# The harness is compiled with swiftc directly (SwiftPM has no fuzz target) together with the sources the parser
# needs: Sources/Evaluator without BundleBuilder (model import, not parsing) and the four files that use swift-crypto (signing is not what is fuzzed, and
# linking BoringSSL by hand is not worth it), Features/FeatureSchema.swift and OccupantCore's OccupantError,
# Instant, the FoundationEssentials text helpers and the file system (the rest of OccupantCore needs the system
# libyaml through CYAML). Everything becomes one module; empty stub modules named
# OccupantCore and Features satisfy the sources' imports.
#
# Seeds are the signed bundles in tools/fuzz/seeds (regenerate with
# OCCUPANT_FUZZ_SEEDS=tools/fuzz/seeds swift test --filter fuzzSeeds). New corpus entries and crash
# reproducers go to .build-fuzz/ (git-ignored).
set -eu
SECONDS_TO_RUN=${1:-30}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/.build-fuzz"
mkdir -p "$OUT/stubs" "$OUT/corpus" "$OUT/artifacts"

: > "$OUT/stubs/empty.swift"
for module in OccupantCore Features; do
    swiftc -parse-as-library -emit-module -module-name "$module" -emit-module-path "$OUT/stubs/$module.swiftmodule" \
        "$OUT/stubs/empty.swift"
done

SOURCES=$(find "$ROOT/Sources/Evaluator" -name '*.swift' \
    ! -name 'ModelBundle+Signing.swift' ! -name 'TrustedKey.swift' ! -name 'SigningKeys.swift' ! -name 'Digests.swift' ! -name 'BundleBuilder.swift' | sort)
# shellcheck disable=SC2086
swiftc -sanitize=fuzzer,address -parse-as-library -module-name BundleFuzz -g -Onone \
    -I "$OUT/stubs" \
    $SOURCES \
    "$ROOT/Sources/Features/FeatureSchema.swift" \
    "$ROOT/Sources/OccupantCore/OccupantError.swift" \
    "$ROOT/Sources/OccupantCore/Instant.swift" \
    "$ROOT/Sources/OccupantCore/Text+Essentials.swift" \
    "$ROOT/Sources/OccupantCore/CString.swift" \
    "$ROOT/Sources/OccupantCore/Files/FileSystem.swift" \
    "$ROOT/Sources/OccupantCore/Files/LocalFileSystem.swift" \
    "$ROOT/tools/fuzz/BundleFuzzer.swift" \
    -o "$OUT/bundle-fuzzer"

echo "fuzzing for $SECONDS_TO_RUN s; corpus $OUT/corpus, crashes in $OUT/artifacts"
"$OUT/bundle-fuzzer" -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/artifacts/" "$OUT/corpus" "$ROOT/tools/fuzz/seeds"
