package main

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
	"github.com/cardswitch/cardswitch/switch/payments"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

func TestAPIKeyCommand(t *testing.T) {
	for _, db := range []struct{ name, flag, value string }{
		{"embedded", "--data-dir", ""},
		{"postgres", "--database-url", ""},
	} {
		t.Run(db.name, func(t *testing.T) {
			value := t.TempDir()
			if db.name == "postgres" {
				value = pgtest.Schema(t)
			}
			out, err := runCmd(t, "api-key", "create", "--merchant", "MERCHANT0000001", "--scopes", "payments,card_data", db.flag, value, "--json")
			require.NoError(t, err)
			var created struct{ ID, Key string }
			require.NoError(t, json.Unmarshal([]byte(out), &created))
			require.Regexp(t, regexp.MustCompile(`^sk_live_[0-9a-v]{52}$`), created.Key)

			// The database holds the hash, never the key; the key authenticates.
			s, err := store.Open(context.Background(), storeConfig(db.name, value))
			require.NoError(t, err)
			k, err := s.APIKeyByHash(context.Background(), payments.HashKey(created.Key))
			require.NoError(t, err)
			require.Equal(t, []string{"payments", "card_data"}, k.Scopes)
			require.NotContains(t, k.Hash, created.Key)
			s.Close()

			list, err := runCmd(t, "api-key", "list", db.flag, value)
			require.NoError(t, err)
			require.Contains(t, list, created.ID)
			require.NotContains(t, list, created.Key)

			_, err = runCmd(t, "api-key", "revoke", created.ID, db.flag, value)
			require.NoError(t, err)
			_, err = runCmd(t, "api-key", "revoke", created.ID, db.flag, value)
			var ue usageError
			require.True(t, errors.As(err, &ue), "a second revoke is a usage error: %v", err)
			list, err = runCmd(t, "api-key", "list", db.flag, value)
			require.NoError(t, err)
			require.True(t, strings.Contains(list, "revoked"), list)
		})
	}
}

func storeConfig(kind, value string) store.Config {
	if kind == "postgres" {
		return store.Config{DatabaseURL: value}
	}
	return store.Config{Path: value + "/" + embeddedLedgerFile}
}

func TestAPIKeyCommandBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"api-key", "create", "--data-dir", dir},
		{"api-key", "create", "--merchant", "M1", "--scopes", "everything", "--data-dir", dir},
		{"api-key", "create", "--merchant", "NOT A MERCHANT", "--data-dir", dir},
		{"api-key", "revoke", "key_nope", "--data-dir", dir},
		{"api-key"},
	} {
		_, err := runCmd(t, args...)
		var ue usageError
		require.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
}
