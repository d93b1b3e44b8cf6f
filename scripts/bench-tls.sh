#!/usr/bin/env bash
# What TLS costs end to end: the same run with plain TCP and with mutual TLS on both sides
# (terminals → switch, switch → issuer), on this machine (loopback, everything on the same cores).
#
#   scripts/bench-tls.sh [duration] [rate]
#
# For each mode it starts one `cardswitch issuer-sim` (TLS: server certificate, client
# certificates required), `cardswitch serve` (TLS: acceptor.tls_cert/tls_key/tls_client_ca and
# issuers[].tls with a client certificate; the embedded ledger in a temporary directory) and runs
# `cardswitch load` twice:
#   1. saturation: closed model, --concurrency $CONC (default 256) for $duration (default 15s);
#   2. fixed rate: $rate/s (default 2000) open model for $duration (p99 from intended send time).
# CPU per authorization = the switch process's user+system CPU during the saturation run divided
# by the answers. Certificates: ECDSA P-256, made with openssl in a temporary directory.
# Ports: 21000-21999 (PORT_BASE, default 21100).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-15s}
RATE=${2:-2000}
CONC=${CONC:-256}
BASE=${PORT_BASE:-21100}
ISSUER=127.0.0.1:$((BASE+1)) ACQ=127.0.0.1:$((BASE+2)) HTTP=127.0.0.1:$((BASE+3)) API=127.0.0.1:$((BASE+4))
WORK=$(mktemp -d /tmp/links-bench-tls.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

go build -o "$WORK/cardswitch" ./cmd/cardswitch
CS="$WORK/cardswitch"

# A CA, and leaf certificates it signs: server ones for 127.0.0.1, client ones.
pki() {
  local d=$WORK/pki
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null
  for leaf in switch-server issuer-server switch-client terminal; do
    local ext="extendedKeyUsage=clientAuth"
    case $leaf in *-server) ext="extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1";; esac
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$leaf" \
      -keyout "$d/$leaf-key.pem" -out "$d/$leaf.csr" 2>/dev/null
    openssl x509 -req -in "$d/$leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 1 \
      -extfile <(printf '%s\n' "$ext") -out "$d/$leaf.pem" 2>/dev/null
  done
  chmod 600 "$d"/*
}
pki
P=$WORK/pki

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

run() { # mode: plain | tls
  local mode=$1 simtls=() acqtls="" linktls="" loadtls=()
  if [ "$mode" = tls ]; then
    simtls=(--tls-cert "$P/issuer-server.pem" --tls-key "$P/issuer-server-key.pem" --tls-client-ca "$P/ca.pem")
    acqtls=", tls_cert: \"$P/switch-server.pem\", tls_key: \"$P/switch-server-key.pem\", tls_client_ca: \"$P/ca.pem\""
    linktls=", tls: {enabled: true, ca_file: \"$P/ca.pem\", cert_file: \"$P/switch-client.pem\", key_file: \"$P/switch-client-key.pem\"}"
    loadtls=(--tls-ca "$P/ca.pem" --tls-cert "$P/terminal.pem" --tls-key "$P/terminal-key.pem")
  fi
  rm -rf "$WORK/data"
  mkdir -p "$WORK/data"
  cat > "$WORK/$mode.yaml" <<YAML
acceptor: {listen: "$ACQ"$acqtls}
http: {listen: "$HTTP"}
api: {listen: "$API"}
issuers:
  - {name: alpha, addr: "$ISSUER", prefixes: ["4", "5"]$linktls}
ledger: {data_dir: "$WORK/data"}
log: {level: warn}
YAML
  "$CS" issuer-sim --listen "$ISSUER" --name alpha --log-level warn "${simtls[@]}" >/dev/null &
  local sim=$!
  sleep 0.5
  "$CS" serve --config "$WORK/$mode.yaml" 2>"$WORK/serve-$mode.log" &
  local sw=$!
  for _ in $(seq 1 100); do
    curl -fs "http://$HTTP/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://$HTTP/readyz" >/dev/null
  local common=(--target "$ACQ" --mix purchase=100 --quiet "${loadtls[@]}")
  "$CS" load "${common[@]}" --concurrency "$CONC" --duration 3s >/dev/null # warm-up
  local before after out answered
  before=$(cpu_ticks "$sw")
  out=$("$CS" load "${common[@]}" --concurrency "$CONC" --duration "$DUR")
  after=$(cpu_ticks "$sw")
  answered=$(awk '/answered/ {print $4; exit}' <<<"$out")
  echo "$mode saturation: $(grep -E 'achieved|latency' <<<"$out" | tr -s ' ' | tr '\n' ' ')"
  awk -v t=$((after-before)) -v hz="$hz" -v n="$answered" -v m="$mode" \
    'BEGIN { printf "%s cpu: %.1f s for %d answers = %.1f us/answer (switch process)\n", m, t/hz, n, (t/hz)/n*1e6 }'
  out=$("$CS" load "${common[@]}" --rate "$RATE" --duration "$DUR")
  echo "$mode $RATE/s: $(grep -E 'achieved|latency|timeouts' <<<"$out" | tr -s ' ' | tr '\n' ' ')"
  kill "$sw" "$sim"
  wait "$sw" "$sim" 2>/dev/null || true
}

run plain
run tls
