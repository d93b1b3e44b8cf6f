#!/usr/bin/env bash
# Throughput of a binary/BCD dialect against the contract spec, in the same run on this machine:
# one `cardswitch serve` with two listeners and two issuer links,
#   contract: the acceptor block (contract spec) and issuer "alpha" (contract spec, prefix 4);
#   bcd:      acceptors[0] (iso8583/testdata/specs/pos-bcd-binary.json behind a TPDU) and issuer
#             "beta" (the same spec behind another TPDU, prefix 5),
# each issuer an `issuer-sim` in its link's dialect. For each dialect in turn (twice, alternated),
# `cardswitch load` saturates its listener in the closed model (--concurrency, default 64) for
# $duration and reports answers/s and latency; the switch's CPU per authorization is its
# user+system time over the run divided by the answers.
#
#   scripts/bench-dialects.sh [duration]        # default 15s per run
#
# Ports 22100-22106 (the dialects range of LANDING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-15s}
CONC=${CONCURRENCY:-64}
SPEC=$PWD/iso8583/testdata/specs/pos-bcd-binary.json
ACQ=127.0.0.1:22100 POS=127.0.0.1:22101 HTTP=127.0.0.1:22102 API=127.0.0.1:22103
ALPHA=127.0.0.1:22104 BETA=127.0.0.1:22105
WORK=$(mktemp -d /tmp/dialects-bench.XXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

go build -o "$WORK/cardswitch" ./cmd/cardswitch
CS=$WORK/cardswitch
"$CS" issuer-sim --listen "$ALPHA" --name alpha --log-level warn >/dev/null &
"$CS" issuer-sim --listen "$BETA" --name beta --spec "$SPEC" --header tpdu:6000020000 --log-level warn >/dev/null &
cat > "$WORK/bench.yaml" <<YAML
acceptor: {listen: "$ACQ"}
acceptors:
  - {name: pos-bcd, listen: "$POS", spec: "$SPEC", header: "tpdu:6000010000"}
http: {listen: "$HTTP"}
api: {listen: "$API"}
issuers:
  - {name: alpha, addr: "$ALPHA", prefixes: ["4"]}
  - {name: beta, addr: "$BETA", prefixes: ["5"], spec: "$SPEC", header: "tpdu:6000020000"}
ledger: {data_dir: "$WORK/data"}
log: {level: warn}
YAML
"$CS" serve --config "$WORK/bench.yaml" 2>"$WORK/serve.log" &
SW=$!
for _ in $(seq 1 100); do
  curl -fs "$HTTP/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$HTTP/readyz" >/dev/null

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

run() { # name target bins [load flags...]
  local name=$1 target=$2 bins=$3
  shift 3
  local before after out rate
  before=$(cpu_ticks "$SW")
  out=$("$CS" load --target "$target" --concurrency "$CONC" --duration "$DUR" --bins "$bins" --quiet \
    --mix purchase=80,preauth=20 --terminal-prefix "${name:0:3}" --report "$WORK/$name.json" "$@" 2>&1)
  after=$(cpu_ticks "$SW")
  rate=$(sed -nE 's/.*achieved +([0-9.]+) answers\/s.*/\1/p' <<<"$out")
  grep -E "sent|latency" <<<"$out" | sed "s/^/$name /"
  awk -v t=$((after-before)) -v hz="$hz" -v r="$rate" -v d="${DUR%s}" -v name="$name" \
    'BEGIN { printf "%s: %.0f answers/s, switch CPU %.1f us/authorization\n", name, r, (t/hz)/(r*d)*1e6 }'
}

for round in 1 2; do
  run contract "$ACQ" 4
  run bcd "$POS" 5 --spec "$SPEC" --header tpdu:6000010000
done
