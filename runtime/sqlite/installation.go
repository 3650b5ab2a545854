package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ampforge/amp/runtime"
)

const installationColumns = `id, project_id, integration_id, group_ref, group_name, connection_id, created_by,
	config_id, config_revision_id, config_create_time, config_created_by, config_content, create_time, update_time`

func scanInstallation(sc scanner) (*runtime.Installation, error) {
	var in runtime.Installation
	var content string
	var cct, ct, ut sql.NullInt64
	if err := sc.Scan(&in.ID, &in.ProjectID, &in.IntegrationID, &in.GroupRef, &in.GroupName, &in.ConnectionID, &in.CreatedBy,
		&in.Config.ID, &in.Config.RevisionID, &cct, &in.Config.CreatedBy, &content, &ct, &ut); err != nil {
		return nil, err
	}
	if err := unmarshal(content, &in.Config.Content); err != nil {
		return nil, err
	}
	in.Config.CreateTime, in.CreateTime, in.UpdateTime = fromMillis(cct), fromMillis(ct), fromMillis(ut)
	return &in, nil
}

func getInstallation(ctx context.Context, q querier, projectID, id string) (*runtime.Installation, error) {
	in, err := scanInstallation(q.QueryRowContext(ctx, `SELECT `+installationColumns+` FROM installations WHERE project_id = ? AND id = ?`, projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "installation %q not found", id)
	}
	return in, mapErr(err)
}

// checkInstallationRefs checks, inside a write transaction, that the
// installation's connection and revision exist in its project and fit it,
// and returns the revision ID to record (the latest one when revisionID is
// empty).
func checkInstallationRefs(ctx context.Context, tx *sql.Tx, projectID string, integ *runtime.Integration, groupRef, connectionID, revisionID string) (string, error) {
	c, err := getConnection(ctx, tx, projectID, connectionID)
	if err != nil {
		return "", err
	}
	if c.Provider != integ.Provider {
		return "", runtime.Errorf(runtime.EINVALID, "connection %q is a %s connection; integration %q needs %s", connectionID, c.Provider, integ.Name, integ.Provider)
	}
	if c.GroupRef != groupRef {
		return "", runtime.Errorf(runtime.EINVALID, "connection %q belongs to another group than %q", connectionID, groupRef)
	}
	if revisionID == "" {
		return integ.LatestRevisionID, nil
	}
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM revisions WHERE project_id = ? AND integration_id = ? AND id = ?`,
		projectID, integ.ID, revisionID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return "", runtime.Errorf(runtime.ENOTFOUND, "revision %q of integration %q not found", revisionID, integ.Name)
	}
	return revisionID, mapErr(err)
}

// CreateInstallation implements runtime.InstallationStore.
func (s *Store) CreateInstallation(ctx context.Context, in *runtime.Installation) error {
	if err := in.Validate(); err != nil {
		return fmt.Errorf("sqlite: create installation: %w", err)
	}
	content, err := jsonText(in.Config.Content)
	if err != nil {
		return fmt.Errorf("sqlite: create installation: %w", err)
	}
	var out *runtime.Installation
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		integ, err := getIntegration(ctx, tx, in.ProjectID, `id`, in.IntegrationID)
		if err != nil {
			return err
		}
		revID, err := checkInstallationRefs(ctx, tx, in.ProjectID, integ, in.GroupRef, in.ConnectionID, in.Config.RevisionID)
		if err != nil {
			return err
		}
		id, configID, now := idOrNew(in.ID), idOrNew(in.Config.ID), s.nowMillis()
		_, err = tx.ExecContext(ctx, `INSERT INTO installations (`+installationColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, in.ProjectID, in.IntegrationID, in.GroupRef, in.GroupName, in.ConnectionID, in.CreatedBy,
			configID, revID, now.UnixMilli(), in.Config.CreatedBy, content, now.UnixMilli(), now.UnixMilli())
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "group %q already has an installation of integration %q (or the id %q is taken)", in.GroupRef, integ.Name, id)
		}
		if err != nil {
			return mapErr(err)
		}
		out, err = getInstallation(ctx, tx, in.ProjectID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create installation of integration %q for group %q: %w", in.IntegrationID, in.GroupRef, err)
	}
	*in = *out
	return nil
}

// GetInstallation implements runtime.InstallationStore.
func (s *Store) GetInstallation(ctx context.Context, projectID, id string) (*runtime.Installation, error) {
	in, err := getInstallation(ctx, s.read, projectID, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get installation %q: %w", id, err)
	}
	return in, nil
}

// ListInstallations implements runtime.InstallationStore.
func (s *Store) ListInstallations(ctx context.Context, projectID string, f runtime.InstallationFilter) ([]*runtime.Installation, error) {
	q, args := whereEqual(`SELECT `+installationColumns+` FROM installations WHERE project_id = ?`, []any{projectID},
		"integration_id", f.IntegrationID, "group_ref", f.GroupRef, "connection_id", f.ConnectionID)
	ins, err := queryList(ctx, s.read, scanInstallation, q+` ORDER BY create_time DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list installations: %w", err)
	}
	return ins, nil
}

// UpdateInstallation implements runtime.InstallationStore.
func (s *Store) UpdateInstallation(ctx context.Context, projectID, id string, upd runtime.InstallationUpdate) (*runtime.Installation, error) {
	if err := upd.Config.Content.Validate(); err != nil {
		return nil, fmt.Errorf("sqlite: update installation %q: %w", id, err)
	}
	content, err := jsonText(upd.Config.Content)
	if err != nil {
		return nil, fmt.Errorf("sqlite: update installation %q: %w", id, err)
	}
	var out *runtime.Installation
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		in, err := getInstallation(ctx, tx, projectID, id)
		if err != nil {
			return err
		}
		integ, err := getIntegration(ctx, tx, projectID, `id`, in.IntegrationID)
		if err != nil {
			return err
		}
		connID, revID := in.ConnectionID, in.Config.RevisionID
		if upd.ConnectionID != "" {
			connID = upd.ConnectionID
		}
		if upd.Config.RevisionID != "" {
			revID = upd.Config.RevisionID
		}
		if revID, err = checkInstallationRefs(ctx, tx, projectID, integ, in.GroupRef, connID, revID); err != nil {
			return err
		}
		groupName, createdBy := in.GroupName, in.Config.CreatedBy
		if upd.GroupName != nil {
			groupName = *upd.GroupName
		}
		if upd.Config.CreatedBy != "" {
			createdBy = upd.Config.CreatedBy
		}
		now := s.nowMillis()
		_, err = tx.ExecContext(ctx, `UPDATE installations
			SET connection_id = ?, group_name = ?, config_id = ?, config_revision_id = ?, config_create_time = ?,
				config_created_by = ?, config_content = ?, update_time = ?
			WHERE project_id = ? AND id = ?`,
			connID, groupName, idOrNew(upd.Config.ID), revID, now.UnixMilli(), createdBy, content, now.UnixMilli(),
			projectID, id)
		if err != nil {
			return mapErr(err)
		}
		out, err = getInstallation(ctx, tx, projectID, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: update installation %q: %w", id, err)
	}
	return out, nil
}

// DeleteInstallation implements runtime.InstallationStore.
func (s *Store) DeleteInstallation(ctx context.Context, projectID, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM installations WHERE project_id = ? AND id = ?`, projectID, id)
	if err == nil {
		err = affectedOne(res, func() error { return runtime.Errorf(runtime.ENOTFOUND, "installation %q not found", id) })
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete installation %q: %w", id, mapErr(err))
	}
	return nil
}
