package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ampforge/amp/runtime"
)

// integrationSelect reads integrations joined with their latest revision.
const integrationSelect = `SELECT i.id, i.project_id, i.name, i.provider, i.latest_revision_id, i.create_time, i.update_time,
	r.id, r.project_id, r.integration_id, r.number, r.spec_version, r.content, r.hash, r.create_time
	FROM integrations i JOIN revisions r ON r.integration_id = i.id AND r.id = i.latest_revision_id`

func scanIntegration(sc scanner) (*runtime.Integration, error) {
	var i runtime.Integration
	var r runtime.Revision
	var ict, iut, rct sql.NullInt64
	if err := sc.Scan(&i.ID, &i.ProjectID, &i.Name, &i.Provider, &i.LatestRevisionID, &ict, &iut,
		&r.ID, &r.ProjectID, &r.IntegrationID, &r.Number, &r.SpecVersion, &r.Content, &r.Hash, &rct); err != nil {
		return nil, err
	}
	i.CreateTime, i.UpdateTime, r.CreateTime = fromMillis(ict), fromMillis(iut), fromMillis(rct)
	i.LatestRevision = &r
	return &i, nil
}

const revisionColumns = `id, project_id, integration_id, number, spec_version, content, hash, create_time`

func scanRevision(sc scanner) (*runtime.Revision, error) {
	var r runtime.Revision
	var ct sql.NullInt64
	if err := sc.Scan(&r.ID, &r.ProjectID, &r.IntegrationID, &r.Number, &r.SpecVersion, &r.Content, &r.Hash, &ct); err != nil {
		return nil, err
	}
	r.CreateTime = fromMillis(ct)
	return &r, nil
}

func getIntegration(ctx context.Context, q querier, projectID, column, value string) (*runtime.Integration, error) {
	i, err := scanIntegration(q.QueryRowContext(ctx, integrationSelect+` WHERE i.project_id = ? AND i.`+column+` = ?`, projectID, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "integration %q not found", value)
	}
	return i, mapErr(err)
}

// DeployIntegrations implements runtime.IntegrationStore.
func (s *Store) DeployIntegrations(ctx context.Context, projectID string, deploys []runtime.IntegrationDeploy) ([]runtime.DeployResult, error) {
	if len(deploys) == 0 {
		return nil, fmt.Errorf("sqlite: deploy: %w", runtime.Errorf(runtime.EINVALID, "nothing to deploy"))
	}
	seen := make(map[string]bool, len(deploys))
	for i := range deploys {
		d := &deploys[i]
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("sqlite: deploy: %w", err)
		}
		if seen[d.Name] {
			return nil, fmt.Errorf("sqlite: deploy: %w", runtime.Errorf(runtime.EINVALID, "integration %q appears twice", d.Name))
		}
		seen[d.Name] = true
	}

	var results []runtime.DeployResult
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := checkProject(ctx, tx, projectID); err != nil {
			return err
		}
		now := s.nowMillis()
		for _, d := range deploys {
			r, err := deployOne(ctx, tx, projectID, d, now)
			if err != nil {
				return fmt.Errorf("integration %q: %w", d.Name, err)
			}
			results = append(results, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: deploy: %w", err)
	}
	return results, nil
}

// deployOne applies one deploy inside the deploy's transaction.
func deployOne(ctx context.Context, tx *sql.Tx, projectID string, d runtime.IntegrationDeploy, now time.Time) (runtime.DeployResult, error) {
	hash := d.Hash
	if hash == "" {
		hash = runtime.ContentHash(d.Content)
	}
	cur, err := getIntegration(ctx, tx, projectID, `name`, d.Name)
	switch {
	case runtime.ErrorCode(err) == runtime.ENOTFOUND:
		id, revID := runtime.NewID(), runtime.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO integrations (id, project_id, name, provider, latest_revision_id, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, projectID, d.Name, d.Provider, revID, now.UnixMilli(), now.UnixMilli()); err != nil {
			return runtime.DeployResult{}, mapErr(err)
		}
		if err := insertRevision(ctx, tx, projectID, id, revID, 1, d, hash, now); err != nil {
			return runtime.DeployResult{}, err
		}
		i, err := getIntegration(ctx, tx, projectID, `id`, id)
		if err != nil {
			return runtime.DeployResult{}, err
		}
		return runtime.DeployResult{Integration: *i, Created: true, Changed: true}, nil
	case err != nil:
		return runtime.DeployResult{}, err
	}

	if cur.Provider != d.Provider {
		return runtime.DeployResult{}, runtime.Errorf(runtime.ECONFLICT,
			"integration %q is deployed for provider %s and cannot change to %s; deploy it under a new name", d.Name, cur.Provider, d.Provider)
	}
	if cur.LatestRevision.Hash == hash {
		return runtime.DeployResult{Integration: *cur}, nil
	}
	revID := runtime.NewID()
	if err := insertRevision(ctx, tx, projectID, cur.ID, revID, cur.LatestRevision.Number+1, d, hash, now); err != nil {
		return runtime.DeployResult{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE integrations SET latest_revision_id = ?, update_time = ? WHERE project_id = ? AND id = ?`,
		revID, now.UnixMilli(), projectID, cur.ID); err != nil {
		return runtime.DeployResult{}, mapErr(err)
	}
	i, err := getIntegration(ctx, tx, projectID, `id`, cur.ID)
	if err != nil {
		return runtime.DeployResult{}, err
	}
	return runtime.DeployResult{Integration: *i, Changed: true}, nil
}

func insertRevision(ctx context.Context, tx *sql.Tx, projectID, integrationID, id string, number int, d runtime.IntegrationDeploy, hash string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO revisions (`+revisionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, projectID, integrationID, number, d.SpecVersion, d.Content, hash, now.UnixMilli())
	return mapErr(err)
}

// GetIntegration implements runtime.IntegrationStore.
func (s *Store) GetIntegration(ctx context.Context, projectID, id string) (*runtime.Integration, error) {
	i, err := getIntegration(ctx, s.read, projectID, `id`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get integration %q: %w", id, err)
	}
	return i, nil
}

// GetIntegrationByName implements runtime.IntegrationStore.
func (s *Store) GetIntegrationByName(ctx context.Context, projectID, name string) (*runtime.Integration, error) {
	i, err := getIntegration(ctx, s.read, projectID, `name`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get integration named %q: %w", name, err)
	}
	return i, nil
}

// ListIntegrations implements runtime.IntegrationStore.
func (s *Store) ListIntegrations(ctx context.Context, projectID string) ([]*runtime.Integration, error) {
	is, err := queryList(ctx, s.read, scanIntegration, integrationSelect+` WHERE i.project_id = ? ORDER BY i.name`, projectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list integrations: %w", err)
	}
	return is, nil
}

// DeleteIntegration implements runtime.IntegrationStore.
func (s *Store) DeleteIntegration(ctx context.Context, projectID, id string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := getIntegration(ctx, tx, projectID, `id`, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM installations WHERE project_id = ? AND integration_id = ?`,
			projectID, id).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n > 0 {
			return runtime.Errorf(runtime.ECONFLICT, "integration %q has %d installation(s); delete them first", id, n)
		}
		// Revisions go with the integration (ON DELETE CASCADE).
		_, err := tx.ExecContext(ctx, `DELETE FROM integrations WHERE project_id = ? AND id = ?`, projectID, id)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete integration %q: %w", id, err)
	}
	return nil
}

// GetRevision implements runtime.IntegrationStore.
func (s *Store) GetRevision(ctx context.Context, projectID, integrationID, revisionID string) (*runtime.Revision, error) {
	r, err := scanRevision(s.read.QueryRowContext(ctx, `SELECT `+revisionColumns+` FROM revisions
		WHERE project_id = ? AND integration_id = ? AND id = ?`, projectID, integrationID, revisionID))
	if errors.Is(err, sql.ErrNoRows) {
		err = runtime.Errorf(runtime.ENOTFOUND, "revision %q of integration %q not found", revisionID, integrationID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get revision %q: %w", revisionID, mapErr(err))
	}
	return r, nil
}

// ListRevisions implements runtime.IntegrationStore.
func (s *Store) ListRevisions(ctx context.Context, projectID, integrationID string) ([]*runtime.Revision, error) {
	rs, err := queryList(ctx, s.read, scanRevision, `SELECT `+revisionColumns+` FROM revisions
		WHERE project_id = ? AND integration_id = ? ORDER BY number DESC`, projectID, integrationID)
	if err == nil && len(rs) == 0 {
		// Every integration has a revision: none means no such integration
		// in this project.
		err = runtime.Errorf(runtime.ENOTFOUND, "integration %q not found", integrationID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: list revisions of integration %q: %w", integrationID, err)
	}
	return rs, nil
}
