package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ampforge/amp/runtime"
)

const connectionColumns = `id, project_id, provider, provider_app_id, group_ref, group_name, consumer_ref, consumer_name,
	provider_workspace_ref, provider_consumer_ref, auth_scheme, status, tokens, token_expiry, token_version,
	scopes, provider_metadata, create_time, update_time`

func scanConnection(sc scanner) (*runtime.Connection, error) {
	var c runtime.Connection
	var status, scopes, meta string
	var expiry, ct, ut sql.NullInt64
	if err := sc.Scan(&c.ID, &c.ProjectID, &c.Provider, &c.ProviderAppID, &c.GroupRef, &c.GroupName, &c.ConsumerRef, &c.ConsumerName,
		&c.ProviderWorkspaceRef, &c.ProviderConsumerRef, &c.AuthScheme, &status, &c.Tokens, &expiry, &c.TokenVersion,
		&scopes, &meta, &ct, &ut); err != nil {
		return nil, err
	}
	var err error
	c.Status = runtime.ConnectionStatus(status)
	if c.Scopes, err = parseStrings(scopes); err != nil {
		return nil, err
	}
	if c.ProviderMetadata, err = parseMap[runtime.ProviderMetadataInfo](meta); err != nil {
		return nil, err
	}
	c.TokenExpiry, c.CreateTime, c.UpdateTime = fromMillis(expiry), fromMillis(ct), fromMillis(ut)
	return &c, nil
}

func getConnection(ctx context.Context, q querier, projectID, id string) (*runtime.Connection, error) {
	c, err := scanConnection(q.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM connections WHERE project_id = ? AND id = ?`, projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "connection %q not found", id)
	}
	return c, mapErr(err)
}

// CreateConnection implements runtime.ConnectionStore.
func (s *Store) CreateConnection(ctx context.Context, c *runtime.Connection) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("sqlite: create connection: %w", err)
	}
	var out *runtime.Connection
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := checkProject(ctx, tx, c.ProjectID); err != nil {
			return err
		}
		id, now := idOrNew(c.ID), s.nowMillis()
		_, err := tx.ExecContext(ctx, `INSERT INTO connections (`+connectionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, c.ProjectID, c.Provider, c.ProviderAppID, c.GroupRef, c.GroupName, c.ConsumerRef, c.ConsumerName,
			c.ProviderWorkspaceRef, c.ProviderConsumerRef, c.AuthScheme, string(c.Status), blob(c.Tokens), millis(c.TokenExpiry), 1,
			stringsText(c.Scopes), metadataText(c.ProviderMetadata), now.UnixMilli(), now.UnixMilli())
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "group %q already has a %s connection (or the id %q is taken)", c.GroupRef, c.Provider, id)
		}
		if err != nil {
			return mapErr(err)
		}
		out, err = getConnection(ctx, tx, c.ProjectID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create %s connection for group %q: %w", c.Provider, c.GroupRef, err)
	}
	*c = *out
	return nil
}

// GetConnection implements runtime.ConnectionStore.
func (s *Store) GetConnection(ctx context.Context, projectID, id string) (*runtime.Connection, error) {
	c, err := getConnection(ctx, s.read, projectID, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get connection %q: %w", id, err)
	}
	return c, nil
}

// ListConnections implements runtime.ConnectionStore.
func (s *Store) ListConnections(ctx context.Context, projectID string, f runtime.ConnectionFilter) ([]*runtime.Connection, error) {
	q, args := whereEqual(`SELECT `+connectionColumns+` FROM connections WHERE project_id = ?`, []any{projectID},
		"provider", f.Provider, "group_ref", f.GroupRef, "consumer_ref", f.ConsumerRef)
	cs, err := queryList(ctx, s.read, scanConnection, q+` ORDER BY create_time DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list connections: %w", err)
	}
	return cs, nil
}

// UpdateConnection implements runtime.ConnectionStore.
func (s *Store) UpdateConnection(ctx context.Context, projectID, id string, upd runtime.ConnectionUpdate) (*runtime.Connection, error) {
	var out *runtime.Connection
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		c, err := getConnection(ctx, tx, projectID, id)
		if err != nil {
			return err
		}
		if upd.ProviderWorkspaceRef != nil {
			c.ProviderWorkspaceRef = *upd.ProviderWorkspaceRef
		}
		if upd.ProviderConsumerRef != nil {
			c.ProviderConsumerRef = *upd.ProviderConsumerRef
		}
		if upd.GroupName != nil {
			c.GroupName = *upd.GroupName
		}
		if upd.ConsumerName != nil {
			c.ConsumerName = *upd.ConsumerName
		}
		if upd.ProviderMetadata != nil {
			c.ProviderMetadata = upd.ProviderMetadata
		}
		_, err = tx.ExecContext(ctx, `UPDATE connections
			SET provider_workspace_ref = ?, provider_consumer_ref = ?, group_name = ?, consumer_name = ?, provider_metadata = ?, update_time = ?
			WHERE project_id = ? AND id = ?`,
			c.ProviderWorkspaceRef, c.ProviderConsumerRef, c.GroupName, c.ConsumerName, metadataText(c.ProviderMetadata),
			s.nowMillis().UnixMilli(), projectID, id)
		if err != nil {
			return mapErr(err)
		}
		out, err = getConnection(ctx, tx, projectID, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: update connection %q: %w", id, err)
	}
	return out, nil
}

// UpdateConnectionTokens implements runtime.ConnectionStore.
func (s *Store) UpdateConnectionTokens(ctx context.Context, projectID, id string, tokenVersion int64, t runtime.ConnectionTokens) (*runtime.Connection, error) {
	if len(t.Tokens) == 0 {
		return nil, fmt.Errorf("sqlite: update tokens of connection %q: %w", id, runtime.Errorf(runtime.EINVALID, "tokens are required"))
	}
	if !t.Status.Valid() {
		return nil, fmt.Errorf("sqlite: update tokens of connection %q: %w", id,
			runtime.Errorf(runtime.EINVALID, "connection status %q is not one of created, working, bad_credentials", t.Status))
	}
	var out *runtime.Connection
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		c, err := getConnection(ctx, tx, projectID, id)
		if err != nil {
			return err
		}
		if c.TokenVersion != tokenVersion {
			return runtime.Errorf(runtime.ECONFLICT, "the tokens of connection %q changed (version %d, not %d); read it again", id, c.TokenVersion, tokenVersion)
		}
		scopes, meta := c.Scopes, c.ProviderMetadata
		if t.Scopes != nil {
			scopes = t.Scopes
		}
		if t.ProviderMetadata != nil {
			meta = t.ProviderMetadata
		}
		// The version is checked again in the WHERE clause; inside this
		// immediate transaction it cannot have moved, but the statement
		// stays correct on its own.
		res, err := tx.ExecContext(ctx, `UPDATE connections
			SET tokens = ?, token_expiry = ?, token_version = token_version + 1, status = ?, scopes = ?, provider_metadata = ?, update_time = ?
			WHERE project_id = ? AND id = ? AND token_version = ?`,
			blob(t.Tokens), millis(t.TokenExpiry), string(t.Status), stringsText(scopes), metadataText(meta), s.nowMillis().UnixMilli(),
			projectID, id, tokenVersion)
		if err != nil {
			return mapErr(err)
		}
		if err := affectedOne(res, func() error {
			return runtime.Errorf(runtime.ECONFLICT, "the tokens of connection %q changed; read it again", id)
		}); err != nil {
			return err
		}
		out, err = getConnection(ctx, tx, projectID, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: update tokens of connection %q: %w", id, err)
	}
	return out, nil
}

// SetConnectionStatus implements runtime.ConnectionStore.
func (s *Store) SetConnectionStatus(ctx context.Context, projectID, id string, tokenVersion int64, status runtime.ConnectionStatus) (*runtime.Connection, error) {
	if !status.Valid() {
		return nil, fmt.Errorf("sqlite: set status of connection %q: %w", id,
			runtime.Errorf(runtime.EINVALID, "connection status %q is not one of created, working, bad_credentials", status))
	}
	var out *runtime.Connection
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		c, err := getConnection(ctx, tx, projectID, id)
		if err != nil {
			return err
		}
		if tokenVersion != 0 && c.TokenVersion != tokenVersion {
			return runtime.Errorf(runtime.ECONFLICT, "the tokens of connection %q changed (version %d, not %d); read it again", id, c.TokenVersion, tokenVersion)
		}
		if c.Status == status {
			out = c
			return nil
		}
		if status == runtime.ConnectionWorking && c.Status == runtime.ConnectionBadCredentials {
			return runtime.Errorf(runtime.ECONFLICT, "connection %q had its credentials refused; only reconnecting clears that", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE connections SET status = ?, update_time = ? WHERE project_id = ? AND id = ?`,
			string(status), s.nowMillis().UnixMilli(), projectID, id); err != nil {
			return mapErr(err)
		}
		out, err = getConnection(ctx, tx, projectID, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: set status of connection %q: %w", id, err)
	}
	return out, nil
}

// DeleteConnection implements runtime.ConnectionStore.
func (s *Store) DeleteConnection(ctx context.Context, projectID, id string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := getConnection(ctx, tx, projectID, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM installations WHERE project_id = ? AND connection_id = ?`,
			projectID, id).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n > 0 {
			return runtime.Errorf(runtime.ECONFLICT, "connection %q is used by %d installation(s); delete them first", id, n)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM connections WHERE project_id = ? AND id = ?`, projectID, id)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete connection %q: %w", id, err)
	}
	return nil
}

// whereEqual appends "AND column = ?" to q for each (column, value) pair
// whose value is set. Only the filters given go into the query: one query
// for every filter, each written as "the parameter is empty or the column
// equals it", keeps SQLite from using an index on the column, and the OAuth
// flow's lookup of a group's connection then scanned every connection of
// the project (O(n²) over n connections created).
func whereEqual(q string, args []any, pairs ...string) (string, []any) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q += ` AND ` + pairs[i] + ` = ?`
			args = append(args, pairs[i+1])
		}
	}
	return q, args
}
