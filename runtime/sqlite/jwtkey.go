package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ampforge/amp/runtime"
)

const jwtKeyColumns = `id, project_id, label, algorithm, public_key, fingerprint, create_time`

func scanJWTKey(sc scanner) (*runtime.JWTKey, error) {
	var k runtime.JWTKey
	var ct sql.NullInt64
	if err := sc.Scan(&k.ID, &k.ProjectID, &k.Label, &k.Algorithm, &k.PublicKey, &k.Fingerprint, &ct); err != nil {
		return nil, err
	}
	k.CreateTime = fromMillis(ct)
	return &k, nil
}

// CreateJWTKey implements runtime.JWTKeyStore.
func (s *Store) CreateJWTKey(ctx context.Context, k *runtime.JWTKey) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("sqlite: create jwt key: %w", err)
	}
	var out *runtime.JWTKey
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := checkProject(ctx, tx, k.ProjectID); err != nil {
			return err
		}
		id := idOrNew(k.ID)
		_, err := tx.ExecContext(ctx, `INSERT INTO jwt_keys (`+jwtKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, k.ProjectID, k.Label, k.Algorithm, k.PublicKey, k.Fingerprint, s.nowMillis().UnixMilli())
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "the project already has this public key (or the id %q is taken)", id)
		}
		if err != nil {
			return mapErr(err)
		}
		out, err = scanJWTKey(tx.QueryRowContext(ctx, `SELECT `+jwtKeyColumns+` FROM jwt_keys WHERE project_id = ? AND id = ?`, k.ProjectID, id))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create jwt key %q: %w", k.Label, err)
	}
	*k = *out
	return nil
}

// LookupJWTKey implements runtime.JWTKeyStore.
func (s *Store) LookupJWTKey(ctx context.Context, id string) (*runtime.JWTKey, error) {
	k, err := scanJWTKey(s.read.QueryRowContext(ctx, `SELECT `+jwtKeyColumns+` FROM jwt_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = runtime.Errorf(runtime.ENOTFOUND, "jwt key %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: lookup jwt key: %w", mapErr(err))
	}
	return k, nil
}

// ListJWTKeys implements runtime.JWTKeyStore.
func (s *Store) ListJWTKeys(ctx context.Context, projectID string) ([]*runtime.JWTKey, error) {
	ks, err := queryList(ctx, s.read, scanJWTKey,
		`SELECT `+jwtKeyColumns+` FROM jwt_keys WHERE project_id = ? ORDER BY create_time, id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list jwt keys: %w", err)
	}
	return ks, nil
}

// DeleteJWTKey implements runtime.JWTKeyStore.
func (s *Store) DeleteJWTKey(ctx context.Context, projectID, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM jwt_keys WHERE project_id = ? AND id = ?`, projectID, id)
	if err == nil {
		err = affectedOne(res, func() error { return runtime.Errorf(runtime.ENOTFOUND, "jwt key %q not found", id) })
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete jwt key %q: %w", id, mapErr(err))
	}
	return nil
}
