package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ampforge/amp/runtime"
)

const providerAppColumns = `id, project_id, provider, external_ref, client_id, client_secret, scopes, metadata, create_time, update_time`

func scanProviderApp(sc scanner) (*runtime.ProviderApp, error) {
	var a runtime.ProviderApp
	var scopes, meta string
	var ct, ut sql.NullInt64
	if err := sc.Scan(&a.ID, &a.ProjectID, &a.Provider, &a.ExternalRef, &a.ClientID, &a.ClientSecret, &scopes, &meta, &ct, &ut); err != nil {
		return nil, err
	}
	var err error
	if a.Scopes, err = parseStrings(scopes); err != nil {
		return nil, err
	}
	if err := unmarshal(meta, &a.Metadata); err != nil {
		return nil, err
	}
	a.CreateTime, a.UpdateTime = fromMillis(ct), fromMillis(ut)
	return &a, nil
}

// CreateProviderApp implements runtime.ProviderAppStore.
func (s *Store) CreateProviderApp(ctx context.Context, app *runtime.ProviderApp) error {
	if err := app.Validate(); err != nil {
		return fmt.Errorf("sqlite: create provider app: %w", err)
	}
	var out *runtime.ProviderApp
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := checkProject(ctx, tx, app.ProjectID); err != nil {
			return err
		}
		meta, err := jsonText(app.Metadata)
		if err != nil {
			return err
		}
		id, now := idOrNew(app.ID), s.nowMillis()
		_, err = tx.ExecContext(ctx, `INSERT INTO provider_apps (`+providerAppColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, app.ProjectID, app.Provider, app.ExternalRef, app.ClientID, blob(app.ClientSecret),
			stringsText(app.Scopes), meta, now.UnixMilli(), now.UnixMilli())
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "the project already has a %s provider app (or the id %q is taken)", app.Provider, id)
		}
		if err != nil {
			return mapErr(err)
		}
		out, err = getProviderApp(ctx, tx, app.ProjectID, `id`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create %s provider app: %w", app.Provider, err)
	}
	*app = *out
	return nil
}

func getProviderApp(ctx context.Context, q querier, projectID, column, value string) (*runtime.ProviderApp, error) {
	a, err := scanProviderApp(q.QueryRowContext(ctx,
		`SELECT `+providerAppColumns+` FROM provider_apps WHERE project_id = ? AND `+column+` = ?`, projectID, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "provider app %q not found", value)
	}
	return a, mapErr(err)
}

// GetProviderApp implements runtime.ProviderAppStore.
func (s *Store) GetProviderApp(ctx context.Context, projectID, id string) (*runtime.ProviderApp, error) {
	a, err := getProviderApp(ctx, s.read, projectID, `id`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get provider app %q: %w", id, err)
	}
	return a, nil
}

// GetProviderAppByProvider implements runtime.ProviderAppStore.
func (s *Store) GetProviderAppByProvider(ctx context.Context, projectID, provider string) (*runtime.ProviderApp, error) {
	a, err := getProviderApp(ctx, s.read, projectID, `provider`, provider)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %s provider app: %w", provider, err)
	}
	return a, nil
}

// ListProviderApps implements runtime.ProviderAppStore.
func (s *Store) ListProviderApps(ctx context.Context, projectID string) ([]*runtime.ProviderApp, error) {
	as, err := queryList(ctx, s.read, scanProviderApp,
		`SELECT `+providerAppColumns+` FROM provider_apps WHERE project_id = ? ORDER BY provider`, projectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list provider apps: %w", err)
	}
	return as, nil
}

// UpdateProviderApp implements runtime.ProviderAppStore.
func (s *Store) UpdateProviderApp(ctx context.Context, projectID, id string, upd runtime.ProviderAppUpdate) (*runtime.ProviderApp, error) {
	var out *runtime.ProviderApp
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		a, err := getProviderApp(ctx, tx, projectID, `id`, id)
		if err != nil {
			return err
		}
		if upd.ExternalRef != nil {
			a.ExternalRef = *upd.ExternalRef
		}
		if upd.ClientID != nil {
			a.ClientID = *upd.ClientID
		}
		if upd.ClientSecret != nil {
			a.ClientSecret = upd.ClientSecret
		}
		if upd.Scopes != nil {
			a.Scopes = *upd.Scopes
		}
		if upd.Metadata != nil {
			a.Metadata = *upd.Metadata
		}
		if err := a.Validate(); err != nil {
			return err
		}
		meta, err := jsonText(a.Metadata)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE provider_apps
			SET external_ref = ?, client_id = ?, client_secret = ?, scopes = ?, metadata = ?, update_time = ?
			WHERE project_id = ? AND id = ?`,
			a.ExternalRef, a.ClientID, blob(a.ClientSecret), stringsText(a.Scopes), meta, s.nowMillis().UnixMilli(),
			projectID, id)
		if err != nil {
			return mapErr(err)
		}
		out, err = getProviderApp(ctx, tx, projectID, `id`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: update provider app %q: %w", id, err)
	}
	return out, nil
}

// DeleteProviderApp implements runtime.ProviderAppStore.
func (s *Store) DeleteProviderApp(ctx context.Context, projectID, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM provider_apps WHERE project_id = ? AND id = ?`, projectID, id)
	if err == nil {
		err = affectedOne(res, func() error { return runtime.Errorf(runtime.ENOTFOUND, "provider app %q not found", id) })
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete provider app %q: %w", id, mapErr(err))
	}
	return nil
}
