package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ampforge/amp/runtime"
)

const destinationColumns = `id, project_id, name, type, metadata, signing_secret, create_time, update_time`

func scanDestination(sc scanner) (*runtime.Destination, error) {
	var d runtime.Destination
	var meta string
	var ct, ut sql.NullInt64
	if err := sc.Scan(&d.ID, &d.ProjectID, &d.Name, &d.Type, &meta, &d.SigningSecret, &ct, &ut); err != nil {
		return nil, err
	}
	if err := unmarshal(meta, &d.Metadata); err != nil {
		return nil, err
	}
	d.CreateTime, d.UpdateTime = fromMillis(ct), fromMillis(ut)
	return &d, nil
}

func getDestination(ctx context.Context, q querier, projectID, column, value string) (*runtime.Destination, error) {
	d, err := scanDestination(q.QueryRowContext(ctx,
		`SELECT `+destinationColumns+` FROM destinations WHERE project_id = ? AND `+column+` = ?`, projectID, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "destination %q not found", value)
	}
	return d, mapErr(err)
}

// CreateDestination implements runtime.DestinationStore.
func (s *Store) CreateDestination(ctx context.Context, d *runtime.Destination) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("sqlite: create destination: %w", err)
	}
	meta, err := jsonText(d.Metadata)
	if err != nil {
		return fmt.Errorf("sqlite: create destination: %w", err)
	}
	var out *runtime.Destination
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := checkProject(ctx, tx, d.ProjectID); err != nil {
			return err
		}
		id, now := idOrNew(d.ID), s.nowMillis()
		_, err := tx.ExecContext(ctx, `INSERT INTO destinations (`+destinationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, d.ProjectID, d.Name, d.Type, meta, blob(d.SigningSecret), now.UnixMilli(), now.UnixMilli())
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "a destination named %q (or with id %q) already exists", d.Name, id)
		}
		if err != nil {
			return mapErr(err)
		}
		out, err = getDestination(ctx, tx, d.ProjectID, `id`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create destination %q: %w", d.Name, err)
	}
	*d = *out
	return nil
}

// GetDestination implements runtime.DestinationStore.
func (s *Store) GetDestination(ctx context.Context, projectID, id string) (*runtime.Destination, error) {
	d, err := getDestination(ctx, s.read, projectID, `id`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get destination %q: %w", id, err)
	}
	return d, nil
}

// GetDestinationByName implements runtime.DestinationStore.
func (s *Store) GetDestinationByName(ctx context.Context, projectID, name string) (*runtime.Destination, error) {
	d, err := getDestination(ctx, s.read, projectID, `name`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get destination named %q: %w", name, err)
	}
	return d, nil
}

// ListDestinations implements runtime.DestinationStore.
func (s *Store) ListDestinations(ctx context.Context, projectID string) ([]*runtime.Destination, error) {
	ds, err := queryList(ctx, s.read, scanDestination,
		`SELECT `+destinationColumns+` FROM destinations WHERE project_id = ? ORDER BY name`, projectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list destinations: %w", err)
	}
	return ds, nil
}

// UpdateDestination implements runtime.DestinationStore.
func (s *Store) UpdateDestination(ctx context.Context, projectID, id string, upd runtime.DestinationUpdate) (*runtime.Destination, error) {
	var out *runtime.Destination
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		d, err := getDestination(ctx, tx, projectID, `id`, id)
		if err != nil {
			return err
		}
		if upd.Name != nil {
			d.Name = *upd.Name
		}
		if upd.Metadata != nil {
			d.Metadata = *upd.Metadata
		}
		if upd.SigningSecret != nil {
			d.SigningSecret = upd.SigningSecret
		}
		if err := d.Validate(); err != nil {
			return err
		}
		meta, err := jsonText(d.Metadata)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE destinations SET name = ?, metadata = ?, signing_secret = ?, update_time = ?
			WHERE project_id = ? AND id = ?`,
			d.Name, meta, blob(d.SigningSecret), s.nowMillis().UnixMilli(), projectID, id)
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "a destination named %q already exists", d.Name)
		}
		if err != nil {
			return mapErr(err)
		}
		out, err = getDestination(ctx, tx, projectID, `id`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: update destination %q: %w", id, err)
	}
	return out, nil
}

// DeleteDestination implements runtime.DestinationStore.
func (s *Store) DeleteDestination(ctx context.Context, projectID, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM destinations WHERE project_id = ? AND id = ?`, projectID, id)
	if err == nil {
		err = affectedOne(res, func() error { return runtime.Errorf(runtime.ENOTFOUND, "destination %q not found", id) })
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete destination %q: %w", id, mapErr(err))
	}
	return nil
}
