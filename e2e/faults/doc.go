// Package faults is the randomized fault suite of cardswitch: schedules of faults (issuers killed
// and restarted, issuers answering after the timeout, the switch SIGKILLed and restarted,
// PostgreSQL restarted, issuer links cut in the middle of a message) injected at random moments
// into the built binaries under load, each schedule checked against the issuers' journals, the
// ledger and what the terminals were told. The tests are behind the build tag `faults`:
//
//	SEED=42 SCHEDULES=3 scripts/faults
//
// See docs/faults.md.
package faults
