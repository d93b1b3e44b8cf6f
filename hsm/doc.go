// Package hsm is the switch's hardware security module boundary: keys held as cryptograms under
// a Local Master Key (the payShield variant LMK scheme), the HSM interface the switch consumes,
// and Soft, the in-process implementation that holds the LMK.
//
// Clear keys, clear PINs and clear PIN blocks exist only inside this package tree, and never
// appear in an error message, a log line or a metric. Every error is a sentinel (ErrKeyParity,
// ErrPINBlock, ErrMACMismatch, ...) optionally wrapped with the name of the field it concerns.
//
// The payShield host protocol (server and client) lives in hsm/payshield; the payment
// cryptography primitives (PIN blocks, DUKPT, MAC, CVV, PVV, EMV) live in hsm/internal/paycrypto.
package hsm
