#!/usr/bin/env bash
# Throughput, latency and CPU per payment of the payments API against the ISO 8583 path, on the
# same switch in the same run (loopback, this machine):
#
#   scripts/bench-api.sh [duration]
#
# Starts two issuer simulators and `cardswitch serve` (the embedded store in a temporary
# directory, or PostgreSQL when CARDSWITCH_DATABASE_URL is set), then:
#   1. API saturation: `load --api`, closed model, $CONC payments outstanding (default 512), card
#      payments with automatic capture (each authorised and durable before its answer);
#   2. API at a fixed 1,000/s (open model; latency from each payment's intended send time);
#   3. ISO 8583 saturation: `load`, closed model, $CONC outstanding, purchases only.
# CPU per payment = the serve process's user+system CPU during a saturation run divided by the
# payments it answered. PORT_OFFSET (default 23000) keeps the ports clear of another switch.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-20s}
OFF=${PORT_OFFSET:-23000}
CONC=${CONC:-512}
ALPHA=127.0.0.1:$((584+OFF)) BETA=127.0.0.1:$((585+OFF)) ACQ=127.0.0.1:$((583+OFF))
HTTP=127.0.0.1:$((80+OFF)) API=127.0.0.1:$((81+OFF))
WORK=$(mktemp -d /tmp/bench-api.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

go build -o "$WORK/cardswitch" ./cmd/cardswitch
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

"$WORK/cardswitch" issuer-sim --listen "$ALPHA" --name alpha >"$WORK/alpha.log" 2>&1 &
"$WORK/cardswitch" issuer-sim --listen "$BETA" --name beta >"$WORK/beta.log" 2>&1 &
cat > "$WORK/bench.yaml" <<YAML
acceptor: {listen: "$ACQ"}
http: {listen: "$HTTP"}
api: {listen: "$API", rate_limit: -1}
issuers:
  - {name: alpha, addr: "$ALPHA", prefixes: ["4"]}
  - {name: beta, addr: "$BETA", prefixes: ["5"]}
ledger: {data_dir: $WORK/data}
log: {level: warn}
YAML
"$WORK/cardswitch" serve --config "$WORK/bench.yaml" 2>"$WORK/serve.log" &
SW=$!
sleep 1
kill -0 $SW 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
for _ in $(seq 100); do curl -sf "http://$HTTP/readyz" >/dev/null && break; sleep 0.1; done

run() { # name, then the load's arguments; prints the report's key lines and the CPU per answer
  local name=$1; shift
  local t0; t0=$(cpu_ticks $SW)
  "$WORK/cardswitch" load "$@" --quiet --report "$WORK/$name.json" >"$WORK/$name.txt" 2>&1 || true
  local t1; t1=$(cpu_ticks $SW)
  local answered; answered=$(python3 -c "import json;print(json.load(open('$WORK/$name.json'))['answered'])")
  echo "== $name"
  grep -E "achieved|latency|unexpected:|sent " "$WORK/$name.txt" | head -6
  python3 -c "print('  serve CPU per answer: %.1f us' % (($t1-$t0)/$hz*1e6/max($answered,1)))"
}
run api-saturation --api --target "http://$API" --concurrency "$CONC" --duration "$DUR" --mix purchase=100
run api-1000 --api --target "http://$API" --rate 1000 --duration "$DUR" --mix purchase=100
run iso-saturation --target "$ACQ" --concurrency "$CONC" --duration "$DUR" --mix purchase=100 --terminals 16
uptime
