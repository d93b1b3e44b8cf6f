package hsm

import "context"

// HSM is what the switch asks of a hardware security module. Keys travel as cryptograms under
// the LMK (Key); PIN blocks, MACs and cryptograms as raw bytes. Implementations are safe for
// concurrent use and honour ctx. Errors wrap the package's sentinels: a cryptographic verdict
// (ErrMACMismatch, ErrPINBlock, ErrKeyParity, ...) or ErrUnavailable for a transport failure.
type HSM interface {
	// TranslatePIN re-encrypts a PIN block from the terminal's key (a TPK, a ZPK, or a DUKPT BDK
	// with the KSN) to the destination ZPK, changing its format when asked. It returns the
	// 8-byte destination PIN block.
	TranslatePIN(ctx context.Context, req TranslatePINRequest) ([]byte, error)
	// GenerateMAC returns the MAC of data under a TAK or ZAK.
	GenerateMAC(ctx context.Context, key Key, alg MACAlgorithm, data []byte) ([]byte, error)
	// VerifyMAC returns nil when mac is data's MAC under key, ErrMACMismatch when it is not.
	VerifyMAC(ctx context.Context, key Key, alg MACAlgorithm, data, mac []byte) error
	// VerifyCVV returns nil when the card verification value verifies, ErrCVVMismatch when not.
	VerifyCVV(ctx context.Context, req CVVRequest) error
	// VerifyARQC verifies an EMV ARQC and, when req.ARC is set, returns the ARPC for it. A
	// cryptogram that does not verify is ErrCryptogramMismatch.
	VerifyARQC(ctx context.Context, req ARQCRequest) (arpc []byte, err error)
	// CheckKey returns nil when the key's cryptogram decrypts under the LMK for its type with
	// good parity and, when key.CheckValue is set, its check value matches (ErrKCV otherwise).
	CheckKey(ctx context.Context, key Key) error
}

// PINFormat is a PIN block format, numbered as payShield host commands number them.
type PINFormat string

// PIN block formats.
const (
	PINFormatISO0    PINFormat = "01" // ISO 9564-1 format 0 (ANSI X9.8): PIN XOR PAN
	PINFormatDiebold PINFormat = "03" // Diebold / IBM 3624: PIN padded with F
	PINFormatISO1    PINFormat = "05" // ISO 9564-1 format 1: PIN and random fill, no PAN
	PINFormatISO3    PINFormat = "47" // ISO 9564-1 format 3: format 0 with random A-F fill
	PINFormatISO4    PINFormat = "48" // ISO 9564-1 format 4 (AES, 16 bytes)
)

// TranslatePINRequest asks for a PIN block to be re-encrypted from Source to Dest.
type TranslatePINRequest struct {
	// Source is the key the PIN block is under: a TPK (002), a ZPK (001), or a DUKPT BDK
	// (009, 609, 809) when KSN is set.
	Source Key
	// KSN is the DUKPT key serial number, 20 hex characters (TDES DUKPT, ANSI X9.24-1), empty
	// unless Source is a BDK.
	KSN string
	// Dest is the ZPK (001) to encrypt the PIN block under.
	Dest Key
	// PINBlock is the source PIN block, 8 bytes.
	PINBlock []byte
	// SourceFormat and DestFormat are the PIN block formats; an empty DestFormat keeps the
	// source format.
	SourceFormat, DestFormat PINFormat
	// PAN is the card number (all its digits); the formats that bind the PIN to the PAN use its
	// 12 right-most digits excluding the check digit.
	PAN string
}

// MACAlgorithm names an ISO/IEC 9797-1 MAC algorithm and padding method over DES keys.
type MACAlgorithm uint8

// MAC algorithms. The MAC is 4 bytes for the X9.9/X9.19 forms payment messages carry in
// fields 64 and 128 when the algorithm name ends in 4, 8 bytes otherwise.
const (
	// MACRetail is ISO/IEC 9797-1 MAC algorithm 3 (ANSI X9.19 retail MAC), padding method 1,
	// 8-byte MAC: what ISO 8583 fields 64/128 carry with a double-length TAK or ZAK.
	MACRetail MACAlgorithm = iota + 1
	// MACRetailPad2 is MAC algorithm 3 with padding method 2.
	MACRetailPad2
	// MACCBC is ISO/IEC 9797-1 MAC algorithm 1 (ANSI X9.9 CBC-MAC) with padding method 1,
	// 8-byte MAC.
	MACCBC
	// MACCBCPad2 is MAC algorithm 1 with padding method 2.
	MACCBCPad2
)

// String names the algorithm as configuration spells it.
func (a MACAlgorithm) String() string {
	switch a {
	case MACRetail:
		return "iso9797-alg3-pad1"
	case MACRetailPad2:
		return "iso9797-alg3-pad2"
	case MACCBC:
		return "iso9797-alg1-pad1"
	case MACCBCPad2:
		return "iso9797-alg1-pad2"
	}
	return "unknown"
}

// ParseMACAlgorithm returns the algorithm named by s (as String spells it).
func ParseMACAlgorithm(s string) (MACAlgorithm, error) {
	for _, a := range []MACAlgorithm{MACRetail, MACRetailPad2, MACCBC, MACCBCPad2} {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, ErrInvalidInput
}

// CVVRequest asks for a Visa CVV (or CVV2, iCVV, or Mastercard CVC) to be verified.
type CVVRequest struct {
	CVK         Key    // the CVK pair (402), double length
	PAN         string // the card number
	Expiry      string // YYMM as on the magnetic stripe
	ServiceCode string // the stripe's service code; "000" for CVV2, "999" for iCVV
	CVV         string // the 3-digit value to verify
}

// ARQCScheme selects how the card's session key is derived from its master key.
type ARQCScheme uint8

// EMV cryptogram schemes.
const (
	// ARQCVisaCVN10 is Visa CVN 10: the card's unique derivation key (EMV option A from
	// PAN and PSN) computes the ARQC directly, no session key; ARPC method 1.
	ARQCVisaCVN10 ARQCScheme = iota + 1
	// ARQCEMVCommon is the EMV common session key derivation (EMV Book 2 A1.3, from the ATC)
	// with ARPC method 1.
	ARQCEMVCommon
)

// ARQCRequest asks for an EMV authorization request cryptogram to be verified.
type ARQCRequest struct {
	MKAC        Key        // the issuer master key for application cryptograms (109)
	Scheme      ARQCScheme // the session key derivation
	PAN         string     // the card number (field 2)
	PANSequence string     // the PAN sequence number, 2 digits (field 23 / tag 5F34); "00" when absent
	ATC         []byte     // application transaction counter, 2 bytes (tag 9F36)
	// TransactionData is the data the card MACed, in the card's order (amount, other amount,
	// country, TVR, currency, date, type, unpredictable number, AIP, ATC, ...), unpadded.
	TransactionData []byte
	ARQC            []byte // the cryptogram to verify, 8 bytes (tag 9F26)
	// UnpredictableNumber is the terminal's unpredictable number, 4 bytes (tag 9F37); a remote
	// payShield takes it as a separate field, the schemes here read it from TransactionData.
	UnpredictableNumber []byte
	// ARC is the 2-byte authorisation response code for the ARPC; nil asks for no ARPC.
	ARC []byte
}
