// Package payshield speaks the Thales payShield host protocol: a TCP server in front of the
// in-process software HSM (hsm.Soft), and a Client that implements hsm.HSM against that server
// or a real payShield.
//
// Framing: every message is preceded by a 2-byte big-endian length of what follows. A request
// is a header of Config.HeaderLen characters (returned unchanged), a 2-character command code
// and the command's fields laid out as the payShield 10K legacy host command reference lays
// them out, optionally followed by the end-message delimiter 0x19 and a trailer of up to 32
// characters (returned unchanged). The response carries the header, the response code (the
// command code with its second character advanced: CA→CB, NC→ND), a 2-digit error code and
// the response fields.
package payshield
