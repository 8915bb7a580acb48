#!/usr/bin/env bash
# Generates typed TypeScript for proto/borg/v1/*.proto into proto/gen/ with ts-proto (messages and grpc-js
# services). `--check` regenerates into a temporary folder and fails if the checked-in files differ.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=proto/gen
if [ "${1:-}" = "--check" ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }
rm -rf "${out:?}/borg"
mkdir -p "$out"
protoc \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,forceLong=number,esModuleInterop=true,useOptionals=none,oneof=unions-value,env=node,useDate=false,exportCommonSymbols=false,removeEnumPrefix=false,unrecognizedEnum=false \
  -I proto \
  proto/borg/v1/*.proto
if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$out/borg" proto/gen/borg >/dev/null; then
    echo "proto/gen is out of date: run npm run proto" >&2
    diff -r "$out/borg" proto/gen/borg | head -20 >&2
    exit 1
  fi
  echo "proto/gen is up to date"
fi
