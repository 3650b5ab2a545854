package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ampforge/amp/runtime"
)

const apiKeyColumns = `id, project_id, key_hash, label, scopes, active, create_time, update_time`

func scanAPIKey(sc scanner) (*runtime.APIKey, error) {
	var k runtime.APIKey
	var scopes string
	var ct, ut sql.NullInt64
	if err := sc.Scan(&k.ID, &k.ProjectID, &k.KeyHash, &k.Label, &scopes, &k.Active, &ct, &ut); err != nil {
		return nil, err
	}
	var err error
	if k.Scopes, err = parseStrings(scopes); err != nil {
		return nil, err
	}
	k.CreateTime, k.UpdateTime = fromMillis(ct), fromMillis(ut)
	return &k, nil
}

func getAPIKey(ctx context.Context, q querier, projectID, id string) (*runtime.APIKey, error) {
	k, err := scanAPIKey(q.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE project_id = ? AND id = ?`, projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "api key %q not found", id)
	}
	return k, mapErr(err)
}

// CreateAPIKey implements runtime.APIKeyStore.
func (s *Store) CreateAPIKey(ctx context.Context, k *runtime.APIKey) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("sqlite: create api key: %w", err)
	}
	var out *runtime.APIKey
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := checkProject(ctx, tx, k.ProjectID); err != nil {
			return err
		}
		id, now := idOrNew(k.ID), s.nowMillis()
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, k.ProjectID, k.KeyHash, k.Label, stringsText(k.Scopes), k.Active, now.UnixMilli(), now.UnixMilli())
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "the api key (or the id %q) already exists", id)
		}
		if err != nil {
			return mapErr(err)
		}
		out, err = getAPIKey(ctx, tx, k.ProjectID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create api key %q: %w", k.Label, err)
	}
	*k = *out
	return nil
}

// GetAPIKeyByHash implements runtime.APIKeyStore.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (*runtime.APIKey, error) {
	k, err := scanAPIKey(s.read.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		err = runtime.Errorf(runtime.ENOTFOUND, "api key not found")
	}
	if err != nil {
		// Neither the key nor its hash goes into the error.
		return nil, fmt.Errorf("sqlite: get api key by hash: %w", mapErr(err))
	}
	return k, nil
}

// ListAPIKeys implements runtime.APIKeyStore.
func (s *Store) ListAPIKeys(ctx context.Context, projectID string) ([]*runtime.APIKey, error) {
	ks, err := queryList(ctx, s.read, scanAPIKey,
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE project_id = ? ORDER BY create_time, id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list api keys: %w", err)
	}
	return ks, nil
}

// UpdateAPIKey implements runtime.APIKeyStore.
func (s *Store) UpdateAPIKey(ctx context.Context, projectID, id string, upd runtime.APIKeyUpdate) (*runtime.APIKey, error) {
	var out *runtime.APIKey
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		k, err := getAPIKey(ctx, tx, projectID, id)
		if err != nil {
			return err
		}
		if upd.Label != nil {
			k.Label = *upd.Label
		}
		if upd.Active != nil {
			k.Active = *upd.Active
		}
		if upd.Scopes != nil {
			k.Scopes = *upd.Scopes
		}
		if err := k.Validate(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE api_keys SET label = ?, active = ?, scopes = ?, update_time = ? WHERE project_id = ? AND id = ?`,
			k.Label, k.Active, stringsText(k.Scopes), s.nowMillis().UnixMilli(), projectID, id)
		if err != nil {
			return mapErr(err)
		}
		out, err = getAPIKey(ctx, tx, projectID, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: update api key %q: %w", id, err)
	}
	return out, nil
}

// DeleteAPIKey implements runtime.APIKeyStore.
func (s *Store) DeleteAPIKey(ctx context.Context, projectID, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM api_keys WHERE project_id = ? AND id = ?`, projectID, id)
	if err == nil {
		err = affectedOne(res, func() error { return runtime.Errorf(runtime.ENOTFOUND, "api key %q not found", id) })
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete api key %q: %w", id, mapErr(err))
	}
	return nil
}
