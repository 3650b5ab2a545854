package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ampforge/amp/runtime"
)

const oauthStateColumns = `state, project_id, provider, provider_app_id, group_ref, group_name, consumer_ref, consumer_name,
	connection_id, provider_workspace_ref, provider_metadata, scopes, pkce_verifier, redirect_uri,
	expire_time, used_time, create_time`

func scanOAuthState(sc scanner) (*runtime.OAuthState, error) {
	var s runtime.OAuthState
	var meta, scopes string
	var et, ut, ct sql.NullInt64
	if err := sc.Scan(&s.State, &s.ProjectID, &s.Provider, &s.ProviderAppID, &s.GroupRef, &s.GroupName, &s.ConsumerRef, &s.ConsumerName,
		&s.ConnectionID, &s.ProviderWorkspaceRef, &meta, &scopes, &s.PKCEVerifier, &s.RedirectURI,
		&et, &ut, &ct); err != nil {
		return nil, err
	}
	var err error
	if s.ProviderMetadata, err = parseMap[runtime.ProviderMetadataInfo](meta); err != nil {
		return nil, err
	}
	if s.Scopes, err = parseStrings(scopes); err != nil {
		return nil, err
	}
	s.ExpireTime, s.UsedTime, s.CreateTime = fromMillis(et), fromMillis(ut), fromMillis(ct)
	return &s, nil
}

func getOAuthState(ctx context.Context, q querier, state string) (*runtime.OAuthState, error) {
	s, err := scanOAuthState(q.QueryRowContext(ctx, `SELECT `+oauthStateColumns+` FROM oauth_states WHERE state = ?`, state))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "unknown OAuth state")
	}
	return s, mapErr(err)
}

// CreateOAuthState implements runtime.OAuthStateStore.
func (s *Store) CreateOAuthState(ctx context.Context, st *runtime.OAuthState) error {
	if err := st.Validate(); err != nil {
		return fmt.Errorf("sqlite: create oauth state: %w", err)
	}
	var out *runtime.OAuthState
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := checkProject(ctx, tx, st.ProjectID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_states (`+oauthStateColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.State, st.ProjectID, st.Provider, st.ProviderAppID, st.GroupRef, st.GroupName, st.ConsumerRef, st.ConsumerName,
			st.ConnectionID, st.ProviderWorkspaceRef, metadataText(st.ProviderMetadata), stringsText(st.Scopes),
			blob(st.PKCEVerifier), st.RedirectURI, st.ExpireTime.UnixMilli(), nil, s.nowMillis().UnixMilli())
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "the OAuth state is already in use")
		}
		if err != nil {
			return mapErr(err)
		}
		out, err = getOAuthState(ctx, tx, st.State)
		return err
	})
	if err != nil {
		// The state value is a secret: it stays out of the error.
		return fmt.Errorf("sqlite: create oauth state for group %q: %w", st.GroupRef, err)
	}
	*st = *out
	return nil
}

// ConsumeOAuthState implements runtime.OAuthStateStore.
func (s *Store) ConsumeOAuthState(ctx context.Context, state string, now time.Time) (*runtime.OAuthState, error) {
	var out *runtime.OAuthState
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		// The conditional UPDATE is the single-use guarantee: of concurrent
		// consumers only one changes the row, whatever the isolation.
		res, err := tx.ExecContext(ctx, `UPDATE oauth_states SET used_time = ?
			WHERE state = ? AND used_time IS NULL AND expire_time > ?`,
			now.UnixMilli(), state, now.UnixMilli())
		if err != nil {
			return mapErr(err)
		}
		st, err := getOAuthState(ctx, tx, state)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if !st.UsedTime.IsZero() {
				return runtime.Errorf(runtime.EINVALID, "this authorization was already completed; start again")
			}
			return runtime.Errorf(runtime.EINVALID, "this authorization has expired; start again")
		}
		out = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: consume oauth state: %w", err)
	}
	return out, nil
}

// DeleteExpiredOAuthStates implements runtime.OAuthStateStore.
func (s *Store) DeleteExpiredOAuthStates(ctx context.Context, before time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM oauth_states WHERE expire_time < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired oauth states: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired oauth states: %w", err)
	}
	return int(n), nil
}
