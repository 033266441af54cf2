#!/usr/bin/env bash
# Installs (apt) everything snag's build, tests and benchmarks need. Idempotent:
# prints nothing and touches nothing when all packages are already present.
set -euo pipefail

packages=(
  # build
  make gcc clang libbpf-dev bpftool libelf-dev zlib1g-dev libjansson-dev
  # symbol names: the GNU demangler (C++ and Rust, legacy and v0), as binutils and perf use it
  libiberty-dev
  # on-CPU profiles: source lines of hot addresses from DWARF (elfutils libdw)
  libdw-dev
  # pprof export: protobuf-c runtime and protoc-c, which generates C from proto/profile.proto
  libprotobuf-c-dev protobuf-c-compiler
  # --prometheus: the HTTP server behind /metrics
  libmicrohttpd-dev
  # checks: format, unit tests, sanitizers (clang runtime for ASan/UBSan via gcc is libasan/libubsan)
  clang-format libcmocka-dev binutils util-linux
  # the HTML report's test: a headless browser renders it (with a font for its text), libpng reads
  # the screenshot back
  chromium fonts-dejavu-core libpng-dev
  # the pprof export test reads snag's profile with the real consumer, `go tool pprof`
  golang-go
  # integration tests: a real Prometheus scrapes snag's /metrics
  prometheus
  # benchmarks: peers and load generators
  libbpf-tools bpftrace linux-perf
  # tools/bench-service.sh: real services and their load generators (redis-benchmark is in
  # redis-tools; pgbench, initdb and pg_ctl are in postgresql's server package)
  redis-server redis-tools postgresql
  # tests/stress-check.sh: the integration suite with half of one core busy in the background
  stress-ng
  # stack unwinding (docs/unwinding.md): Debian's redis-server and its libjemalloc, built without
  # frame pointers, are the real binaries whose CFI tables are measured and walked
  redis-server redis-tools
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run 'sudo make deps' (root is needed for apt-get)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A new machine has empty package lists: update once before installing.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
