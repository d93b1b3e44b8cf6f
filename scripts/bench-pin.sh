#!/usr/bin/env bash
# The switch's cost of PIN translation and MACs: the same load with and without PIN blocks (and
# with PIN blocks and MACs) in the same run, with the in-process HSM and over the payShield host
# protocol against a `cardswitch hsm` process.
#
#   scripts/bench-pin.sh [duration] [rate] [concurrency]     (defaults 20s 1000 64)
#   ROUNDS=3 scripts/bench-pin.sh ...    no-pin and pin alternate ROUNDS times (default 1), so that
#                                        a busy neighbour on the machine weighs on both alike
#
# Fresh test keys under the public test LMK (go run ./scripts/testkeys); two issuer simulators
# that check every PIN under their ZPK (--zpk, PIN 1234) and, in the MAC variant, every request's
# MAC under their ZAK (--zak). For each HSM mode (soft, payshield) and variant:
#   no-pin    the terminals send no PIN block;
#   pin       every request carries a PIN block (--pin-share 100): TPK → ZPK translation;
#   pin+mac   as pin, and every request is MACed by the terminal (verified by the switch) and by
#             the switch towards the issuer (verified by the simulator): a second switch config;
# it runs a fixed rate (open model, latency from each request's intended send time) and then a
# saturation run (closed model, $concurrency outstanding). The mix is purchases (80) and
# pre-authorizations (20), no completions, so every request is an authorization that can carry a
# PIN. CPU per authorization = the serve process's user+system CPU seconds during a run divided by
# the answers; in payshield mode the HSM process's CPU is reported beside it.
# Ports: $BASE+1/+2 issuers, +15 HSM, +83 acquirer, +80 HTTP (BASE defaults to 21000).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-20s}
RATE=${2:-1000}
CONC=${3:-64}
BASE=${BASE:-21000}
ROUNDS=${ROUNDS:-1}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

ALPHA=127.0.0.1:$((BASE + 1)) BETA=127.0.0.1:$((BASE + 2)) HSMADDR=127.0.0.1:$((BASE + 15))
ACQ=127.0.0.1:$((BASE + 83)) HTTP=127.0.0.1:$((BASE + 80))
TERMINALS=16

go build -o "$WORK/cardswitch" ./cmd/cardswitch
eval "$(go run ./scripts/testkeys -out "$WORK/keys.yaml" -env)"
CS="$WORK/cardswitch"

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
key() { echo "{cryptogram: \"$1\", check_value: \"$2\"}"; }
TPK=$(key "$TPK_CRYPTOGRAM" "$TPK_CHECK_VALUE") TAK=$(key "$TAK_CRYPTOGRAM" "$TAK_CHECK_VALUE")
ZPK=$(key "$ZPK_CRYPTOGRAM" "$ZPK_CHECK_VALUE") ZAK=$(key "$ZAK_CRYPTOGRAM" "$ZAK_CHECK_VALUE")

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  return 1
}

# config mode(soft|payshield) macs(0|1): the switch config with every terminal LOADnnnn keyed.
config() {
  local mode=$1 macs=$2 hsm issuer_mac="" terminal_mac=""
  if [ "$mode" = payshield ]; then hsm="{mode: payshield, addr: \"$HSMADDR\"}"; else hsm="{mode: soft, lmk: test}"; fi
  if [ "$macs" = 1 ]; then issuer_mac=", mac_key: $ZAK"; terminal_mac=", mac_key: $TAK"; fi
  echo "acceptor: {listen: \"$ACQ\"}"
  echo "http: {listen: \"$HTTP\"}"
  echo "issuers:"
  echo "  - {name: alpha, addr: \"$ALPHA\", prefixes: [\"4\"], zpk: $ZPK$issuer_mac}"
  echo "  - {name: beta, addr: \"$BETA\", prefixes: [\"5\"], zpk: $ZPK$issuer_mac}"
  echo "terminals:"
  for i in $(seq 1 $TERMINALS); do
    printf '  - {id: LOAD%04d, tpk: %s%s}\n' "$i" "$TPK" "$terminal_mac"
  done
  echo "hsm: $hsm"
  echo "ledger: {data_dir: \"$WORK/data-$mode-$macs\"}"
  echo "log: {level: warn}"
}

SIMS=()
start_sims() { # macs
  local zak=()
  [ "$1" = 1 ] && zak=(--zak "$ZAK_CRYPTOGRAM")
  "$CS" issuer-sim --listen "$ALPHA" --name alpha --lmk test --zpk "$ZPK_CRYPTOGRAM" "${zak[@]}" >"$WORK/alpha.log" 2>&1 &
  SIMS=($!)
  "$CS" issuer-sim --listen "$BETA" --name beta --lmk test --zpk "$ZPK_CRYPTOGRAM" "${zak[@]}" >"$WORK/beta.log" 2>&1 &
  SIMS+=($!)
  wait_port "$ALPHA" && wait_port "$BETA"
}
stop_pids() { kill "$@" 2>/dev/null || true; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }

SW=""
start_switch() { # mode macs
  config "$1" "$2" >"$WORK/cardswitch.yaml"
  mkdir -p "$WORK/data-$1-$2"
  "$CS" serve --config "$WORK/cardswitch.yaml" 2>"$WORK/serve-$1-$2.log" &
  SW=$!
  for _ in $(seq 1 100); do
    curl -fs "http://$HTTP/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the switch did not become ready; its log:" >&2
  cat "$WORK/serve-$1-$2.log" >&2
  return 1
}

# measure label pid-of-hsm-or-empty load-args...: one run, its summary line and CPU per answer.
measure() {
  local label=$1 hsmpid=$2
  shift 2
  local sw0 sw1 h0=0 h1=0
  sw0=$(cpu_ticks "$SW")
  [ -n "$hsmpid" ] && h0=$(cpu_ticks "$hsmpid")
  "$CS" load --target "$ACQ" --quiet --mix purchase=80,preauth=20 --completion-share 0 \
    --terminals $TERMINALS --keys "$WORK/keys.yaml" --report "$WORK/report.json" "$@" >"$WORK/load.txt" 2>&1 ||
    { echo "load failed:" >&2; cat "$WORK/load.txt" >&2; return 1; }
  sw1=$(cpu_ticks "$SW")
  [ -n "$hsmpid" ] && h1=$(cpu_ticks "$hsmpid")
  python3 - "$WORK/report.json" "$label" $((sw1 - sw0)) $((h1 - h0)) "$hz" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
label, sw, hsm, hz = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
n = max(r["answered"], 1)
line = (f"{label:<34} answered {r['answered']:>7}  {r['achieved_rate']:>7.0f}/s  "
        f"p50 {r['latency_ms']['p50']:>6.2f} ms  p99 {r['latency_ms']['p99']:>7.2f} ms  "
        f"switch CPU {sw / hz / n * 1e6:>6.1f} us/auth")
if hsm:
    line += f"  hsm CPU {hsm / hz / n * 1e6:>5.1f} us/auth"
line += f"  pin {r.get('pin_sent', 0)}  unexpected {r['unexpected']}  timeouts {r['timeouts']}"
print(line)
PY
}

variant() { # mode hsmpid name load-args...
  local mode=$1 hsmpid=$2 name=$3
  shift 3
  "$CS" load --target "$ACQ" --quiet --rate "$RATE" --duration 3s --mix purchase=80,preauth=20 --completion-share 0 \
    --terminals $TERMINALS --keys "$WORK/keys.yaml" "$@" >/dev/null 2>&1 || true # warm-up
  measure "$mode $name ${RATE}/s" "$hsmpid" --rate "$RATE" --duration "$DUR" "$@"
  measure "$mode $name saturation (c=$CONC)" "$hsmpid" --concurrency "$CONC" --duration "$DUR" "$@"
}

echo "bench-pin: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), duration $DUR"
for mode in soft payshield; do
  HSMPID=""
  if [ "$mode" = payshield ]; then
    "$CS" hsm --listen "$HSMADDR" --lmk test >"$WORK/hsm.log" 2>&1 &
    HSMPID=$!
    wait_port "$HSMADDR"
  fi
  start_sims 0
  start_switch "$mode" 0
  for _ in $(seq 1 "$ROUNDS"); do
    variant "$mode" "$HSMPID" no-pin
    variant "$mode" "$HSMPID" pin --pin-share 100
  done
  stop_pids "$SW" "${SIMS[@]}"
  start_sims 1
  start_switch "$mode" 1
  variant "$mode" "$HSMPID" pin+mac --pin-share 100 --mac
  stop_pids "$SW" "${SIMS[@]}"
  [ -n "$HSMPID" ] && stop_pids "$HSMPID"
done
