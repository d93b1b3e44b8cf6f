package hsm

import "fmt"

// KeyType is a payShield key type code (3 hex characters, as the 10K legacy host command
// reference numbers them): the first character is the LMK variant (0-9), the last two the LMK
// pair code (00 = pair 04-05, 01 = 06-07, 02 = 14-15, ... 0E = 38-39). The variant scheme
// encrypts a key of type "vPP" under LMK pair PP with variant v applied.
type KeyType string

// Key types the switch and the host commands use.
const (
	KeyTypeZMK   KeyType = "000" // zone master key, LMK 04-05
	KeyTypeZPK   KeyType = "001" // zone PIN key, LMK 06-07
	KeyTypeTPK   KeyType = "002" // terminal PIN key (also TMK, PVK), LMK 14-15
	KeyTypePVK   KeyType = "002" // PIN verification key (Visa PVV, IBM 3624), LMK 14-15
	KeyTypeTMK   KeyType = "002" // terminal master key, LMK 14-15
	KeyTypeTAK   KeyType = "003" // terminal authentication (MAC) key, LMK 16-17
	KeyTypeZAK   KeyType = "008" // zone authentication (MAC) key, LMK 26-27
	KeyTypeBDK1  KeyType = "009" // DUKPT base derivation key type 1, LMK 28-29
	KeyTypeZEK   KeyType = "00A" // zone encryption key, LMK 30-31
	KeyTypeDEK   KeyType = "00B" // data encryption key, LMK 32-33
	KeyTypeMKAC  KeyType = "109" // EMV issuer master key for application cryptograms, LMK 28-29 variant 1
	KeyTypeMKSMI KeyType = "209" // EMV master key for secure messaging integrity, LMK 28-29 variant 2
	KeyTypeMKSMC KeyType = "309" // EMV master key for secure messaging confidentiality, LMK 28-29 variant 3
	KeyTypeMKDAC KeyType = "409" // EMV master key for data authentication codes, LMK 28-29 variant 4
	KeyTypeMKDN  KeyType = "509" // EMV master key for dynamic numbers, LMK 28-29 variant 5
	KeyTypeBDK2  KeyType = "609" // DUKPT base derivation key type 2, LMK 28-29 variant 6
	KeyTypeBDK3  KeyType = "809" // DUKPT base derivation key type 3, LMK 28-29 variant 8
	KeyTypeCVK   KeyType = "402" // card verification key (CVV, CVV2, iCVV, CSC), LMK 14-15 variant 4
)

// pairCodes maps a key type's pair code (its last two characters) to the LMK pair index
// (0 = pair 00-01, 1 = 02-03, ... 19 = 38-39).
var pairCodes = map[string]int{
	"00": 2, "01": 3, "02": 7, "03": 8, "04": 9, "05": 10, "06": 11, "07": 12,
	"08": 13, "09": 14, "0A": 15, "0B": 16, "0C": 17, "0D": 18, "0E": 19,
}

// lmkLocation is where a key type lives under the LMK.
type lmkLocation struct {
	pair    int // LMK pair index 0..19
	variant int // key type variant 0..9
}

// location returns the LMK pair and variant of t, or ErrKeyType.
func (t KeyType) location() (lmkLocation, error) {
	if len(t) != 3 || t[0] < '0' || t[0] > '9' {
		return lmkLocation{}, ErrKeyType
	}
	pair, ok := pairCodes[string(t[1:])]
	if !ok {
		return lmkLocation{}, ErrKeyType
	}
	return lmkLocation{pair: pair, variant: int(t[0] - '0')}, nil
}

// Valid reports whether t names an LMK pair and variant.
func (t KeyType) Valid() bool {
	_, err := t.location()
	return err == nil
}

// String returns the code and, for the key types above, a name: "001 (ZPK)".
func (t KeyType) String() string {
	if n, ok := keyTypeNames[t]; ok {
		return fmt.Sprintf("%s (%s)", string(t), n)
	}
	return string(t)
}

var keyTypeNames = map[KeyType]string{
	KeyTypeZMK: "ZMK", KeyTypeZPK: "ZPK", KeyTypeTPK: "TPK/TMK/PVK", KeyTypeTAK: "TAK",
	KeyTypeZAK: "ZAK", KeyTypeBDK1: "BDK-1", KeyTypeZEK: "ZEK", KeyTypeDEK: "DEK",
	KeyTypeMKAC: "MK-AC", KeyTypeMKSMI: "MK-SMI", KeyTypeMKSMC: "MK-SMC", KeyTypeMKDAC: "MK-DAC",
	KeyTypeMKDN: "MK-DN", KeyTypeBDK2: "BDK-2", KeyTypeBDK3: "BDK-3", KeyTypeCVK: "CVK",
}

// LegacyKeyTypeCode maps the 2-character key type code of the BU command (the payShield
// "key type code" that predates 3-digit key types) to a KeyType: "00" ZMK, "01" ZPK, "02"
// TPK/TMK/PVK, "03" TAK, ... "0E"; "10" ZMK component (variant 1 of 04-05); "42" CVK.
// It returns ErrKeyType for any other code ("FF" means the 3-digit type follows separately).
func LegacyKeyTypeCode(code string) (KeyType, error) {
	if len(code) != 2 {
		return "", ErrKeyType
	}
	var kt KeyType
	switch code {
	case "10":
		kt = "100"
	case "42":
		kt = KeyTypeCVK
	default:
		kt = KeyType("0" + code)
	}
	if !kt.Valid() {
		return "", ErrKeyType
	}
	return kt, nil
}
