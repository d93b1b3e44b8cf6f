#!/usr/bin/env bash
# End-to-end throughput, latency and CPU per authorization of the switch against the bare
# moov-io forwarder of ../shared/tools/isobench, in the same run on this machine (loopback).
#
#   scripts/bench-e2e.sh [duration] [isobench-dir]
#
# Starts two isobench issuers (127.0.0.1:9583, :9584), the isobench forwarder (:7583) and
# `cardswitch serve` (default topology; the ledger is the embedded store in a temporary directory
# unless CARDSWITCH_DATABASE_URL is set), then for each target:
#   1. saturation: closed model, 8 connections x $WINDOW outstanding (default 32), for $duration;
#   2. fixed rate: 5,000/s open model for $duration (p50/p99 from each request's intended send time).
# CPU per authorization = the target process's user+system CPU seconds during the saturation run
# divided by the authorizations it answered.
# Ports: the contract's defaults; set PORT_OFFSET (e.g. 10000) to run beside another switch.
# BASELINE=<git revision> also builds that revision of the switch and runs it in the same run (on
# the acquirer and HTTP ports + 1, its own data directory), so that a change is compared with what
# came before it on the same machine at the same moment.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-20s}
ISOBENCH_DIR=${2:-../shared/tools/isobench}
OFF=${PORT_OFFSET:-0}
WINDOW=${WINDOW:-32}
ALPHA=127.0.0.1:$((9583+OFF)) BETA=127.0.0.1:$((9584+OFF)) FWD_ADDR=127.0.0.1:$((7583+OFF))
ACQ=127.0.0.1:$((8583+OFF)) HTTP=127.0.0.1:$((8080+OFF))
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

go build -o "$WORK/cardswitch" ./cmd/cardswitch
(cd "$ISOBENCH_DIR" && go build -o "$WORK/isobench" .)
if [ -n "${BASELINE:-}" ]; then
  git worktree add -q --detach "$WORK/base-src" "$BASELINE"
  (cd "$WORK/base-src" && go build -o "$WORK/cardswitch-base" ./cmd/cardswitch)
  git worktree remove --force "$WORK/base-src"
fi

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

"$WORK/isobench" issuer -listen "$ALPHA" &
"$WORK/isobench" issuer -listen "$BETA" &
sleep 0.5
"$WORK/isobench" forward -listen "$FWD_ADDR" -issuer "$ALPHA" &
FWD=$!
mkdir -p "$WORK/data"
cat > "$WORK/bench.yaml" <<YAML
acceptor:
  listen: "$ACQ"
http:
  listen: "$HTTP"
issuers:
  - {name: alpha, addr: "$ALPHA", prefixes: ["4"]}
  - {name: beta, addr: "$BETA", prefixes: ["5"]}
ledger:
  data_dir: $WORK/data
log:
  level: warn
YAML
"$WORK/cardswitch" serve --config "$WORK/bench.yaml" 2>"$WORK/serve.log" &
SW=$!
for _ in $(seq 1 100); do
  curl -fs "$HTTP/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$HTTP/readyz" >/dev/null

run() { # name pid target
  local name=$1 pid=$2 target=$3
  local before after out answered
  "$WORK/isobench" load -target "$target" -conns 8 -window "$WINDOW" -duration 3s -prefixes 4 >/dev/null # warm-up
  before=$(cpu_ticks "$pid")
  out=$("$WORK/isobench" load -target "$target" -conns 8 -window "$WINDOW" -duration "$DUR" -prefixes 4)
  after=$(cpu_ticks "$pid")
  answered=$(sed -E 's/.* answered=([0-9]+) .*/\1/' <<<"$out")
  echo "$name saturation: $out"
  awk -v t=$((after-before)) -v hz="$hz" -v n="$answered" -v name="$name" \
    'BEGIN { printf "%s cpu: %.1f s for %d authorizations = %.1f us/authorization\n", name, t/hz, n, (t/hz)/n*1e6 }'
  echo "$name 5000/s: $("$WORK/isobench" load -target "$target" -rate 5000 -conns 8 -duration "$DUR" -prefixes 4)"
}

BASE_ACQ=127.0.0.1:$((8584+OFF))
if [ -n "${BASELINE:-}" ]; then
  mkdir -p "$WORK/base-data"
  sed -e "s|$ACQ|$BASE_ACQ|; s|$HTTP|127.0.0.1:$((8081+OFF))|; s|$WORK/data|$WORK/base-data|" "$WORK/bench.yaml" >"$WORK/base.yaml"
  "$WORK/cardswitch-base" serve --config "$WORK/base.yaml" 2>"$WORK/base.log" &
  BASE=$!
  for _ in $(seq 1 100); do
    curl -fs "127.0.0.1:$((8081+OFF))/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

run forwarder "$FWD" "$FWD_ADDR"
if [ -n "${BASELINE:-}" ]; then run "baseline($BASELINE)" "$BASE" "$BASE_ACQ"; fi
run cardswitch "$SW" "$ACQ"
