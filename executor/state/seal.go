package state

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// Both registries keep a role's secret sealed with AES-256-GCM: a fresh nonce
// followed by the ciphertext, with the role's name as additional data so a
// sealed secret cannot be moved to another role.

func newSealer(secretKey []byte) (cipher.AEAD, error) {
	if len(secretKey) != KeySize {
		return nil, fmt.Errorf("state: secret key must be %d bytes, got %d", KeySize, len(secretKey))
	}
	block, err := aes.NewCipher(secretKey)
	if err != nil {
		return nil, fmt.Errorf("state: secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("state: secret key: %w", err)
	}
	return aead, nil
}

// sealSecret encrypts the secret of the role called name.
func sealSecret(aead cipher.AEAD, name, secret string) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("state: nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, []byte(secret), []byte(name)), nil
}

// openSecret decrypts what sealSecret made; keyHint tells the operator what
// to check when the key does not fit (it differs between the registries).
func openSecret(aead cipher.AEAD, name string, sealed []byte, keyHint string) (string, error) {
	ns := aead.NonceSize()
	if len(sealed) < ns {
		return "", fmt.Errorf("state: role %s: sealed secret too short", name)
	}
	plain, err := aead.Open(nil, sealed[:ns], sealed[ns:], []byte(name))
	if err != nil {
		return "", fmt.Errorf("state: role %s: cannot decrypt its secret (%s): %w", name, keyHint, err)
	}
	return string(plain), nil
}
