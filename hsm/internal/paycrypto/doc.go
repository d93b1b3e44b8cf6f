// Package paycrypto holds the payment cryptography primitives of the software
// HSM: DES/TDES and AES helpers, ISO 9564-1 PIN blocks, TDES DUKPT
// (ANSI X9.24-1:2009) and AES DUKPT (ANSI X9.24-3:2017), ISO/IEC 9797-1 MACs and
// CMAC, Visa CVV/PVV, IBM 3624 PIN offsets and EMV ARQC/ARPC.
//
// Clear keys and clear PINs are plain []byte here. That is only acceptable
// because the package is internal to hsm: nothing outside the hsm tree can
// import it, so clear key material cannot leak into the switch.
//
// Every function checks its inputs and returns an error wrapping one of the
// sentinel errors in errors.go; none panics on any input. Error messages
// carry lengths, positions and format numbers, never a key, a PIN, a PIN
// block or a PAN.
//
// The package is built on crypto/des, crypto/aes, crypto/cipher and
// crypto/subtle only. Each file names the standard it follows; the tests cite
// the published example each known-answer vector comes from.
package paycrypto
