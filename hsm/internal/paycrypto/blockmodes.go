package paycrypto

import (
	"crypto/cipher"
	"fmt"
)

// TDESEncryptECB encrypts whole 8-byte blocks under a single-, double- or
// triple-length key in ECB mode, the mode of PIN blocks and key wrapping
// under the variant LMK scheme.
func TDESEncryptECB(key, data []byte) ([]byte, error) {
	b, err := newTDES(key)
	if err != nil {
		return nil, err
	}
	return ecb(b, data, true)
}

// TDESDecryptECB is the inverse of TDESEncryptECB.
func TDESDecryptECB(key, data []byte) ([]byte, error) {
	b, err := newTDES(key)
	if err != nil {
		return nil, err
	}
	return ecb(b, data, false)
}

// TDESEncryptCBC encrypts whole 8-byte blocks in CBC mode with an 8-byte IV.
func TDESEncryptCBC(key, iv, data []byte) ([]byte, error) {
	b, err := newTDES(key)
	if err != nil {
		return nil, err
	}
	return cbc(b, iv, data, true)
}

// TDESDecryptCBC is the inverse of TDESEncryptCBC.
func TDESDecryptCBC(key, iv, data []byte) ([]byte, error) {
	b, err := newTDES(key)
	if err != nil {
		return nil, err
	}
	return cbc(b, iv, data, false)
}

// AESEncryptECB encrypts whole 16-byte blocks under an AES-128/192/256 key.
func AESEncryptECB(key, data []byte) ([]byte, error) {
	b, err := newAES(key)
	if err != nil {
		return nil, err
	}
	return ecb(b, data, true)
}

// AESDecryptECB is the inverse of AESEncryptECB.
func AESDecryptECB(key, data []byte) ([]byte, error) {
	b, err := newAES(key)
	if err != nil {
		return nil, err
	}
	return ecb(b, data, false)
}

// AESEncryptCBC encrypts whole 16-byte blocks in CBC mode with a 16-byte IV.
func AESEncryptCBC(key, iv, data []byte) ([]byte, error) {
	b, err := newAES(key)
	if err != nil {
		return nil, err
	}
	return cbc(b, iv, data, true)
}

// AESDecryptCBC is the inverse of AESEncryptCBC.
func AESDecryptCBC(key, iv, data []byte) ([]byte, error) {
	b, err := newAES(key)
	if err != nil {
		return nil, err
	}
	return cbc(b, iv, data, false)
}

func checkBlocks(b cipher.Block, data []byte) error {
	bs := b.BlockSize()
	if len(data) == 0 || len(data)%bs != 0 {
		return fmt.Errorf("%w: %d bytes is not a whole number of %d-byte blocks", ErrDataLength, len(data), bs)
	}
	return nil
}

func ecb(b cipher.Block, data []byte, encrypt bool) ([]byte, error) {
	if err := checkBlocks(b, data); err != nil {
		return nil, err
	}
	out := make([]byte, len(data))
	bs := b.BlockSize()
	for i := 0; i < len(data); i += bs {
		if encrypt {
			b.Encrypt(out[i:i+bs], data[i:i+bs])
		} else {
			b.Decrypt(out[i:i+bs], data[i:i+bs])
		}
	}
	return out, nil
}

func cbc(b cipher.Block, iv, data []byte, encrypt bool) ([]byte, error) {
	if len(iv) != b.BlockSize() {
		return nil, fmt.Errorf("%w: IV of %d bytes, want %d", ErrDataLength, len(iv), b.BlockSize())
	}
	if err := checkBlocks(b, data); err != nil {
		return nil, err
	}
	out := make([]byte, len(data))
	if encrypt {
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, data)
	} else {
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, data)
	}
	return out, nil
}
