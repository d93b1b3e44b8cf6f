package store

import (
	"context"
	"strings"
	"time"
)

// CreateAPIKey stores a key (its hash).
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	_, err := s.exec(ctx, `INSERT INTO payapi_api_keys (id, merchant, hash, prefix, scopes, test, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hash) DO NOTHING`, k.ID, k.Merchant, k.Hash, k.Prefix, strings.Join(k.Scopes, ","), boolInt(k.Test), micros(k.CreatedAt))
	return err
}

// APIKeys lists every key, newest first (revoked ones too).
func (s *Store) APIKeys(ctx context.Context) ([]*APIKey, error) {
	return s.apiKeys(ctx, ` ORDER BY created_at DESC, id`)
}

// APIKeyByHash returns the unrevoked key with this hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*APIKey, error) {
	ks, err := s.apiKeys(ctx, ` WHERE hash = ? AND revoked_at IS NULL`, hash)
	if err != nil {
		return nil, err
	}
	if len(ks) == 0 {
		return nil, ErrNotFound
	}
	return ks[0], nil
}

func (s *Store) apiKeys(ctx context.Context, where string, args ...any) ([]*APIKey, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT id, merchant, hash, prefix, scopes, test, created_at, coalesce(revoked_at, 0)
		FROM payapi_api_keys`+where), args...)
	if err != nil {
		return nil, notFound(err)
	}
	defer rows.Close()
	var out []*APIKey
	for rows.Next() {
		var k APIKey
		var scopes string
		var test int
		var created, revoked int64
		if err := rows.Scan(&k.ID, &k.Merchant, &k.Hash, &k.Prefix, &scopes, &test, &created, &revoked); err != nil {
			return nil, notFound(err)
		}
		if scopes != "" {
			k.Scopes = strings.Split(scopes, ",")
		}
		k.Test, k.CreatedAt, k.RevokedAt = test != 0, fromMicros(created), fromMicros(revoked)
		out = append(out, &k)
	}
	return out, notFound(rows.Err())
}

// RevokeAPIKey revokes a key by id; ErrNotFound when there is no such unrevoked key.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := s.exec(ctx, `UPDATE payapi_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(at), id)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
