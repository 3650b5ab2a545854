package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ampforge/amp/runtime"
)

const destinationColumns = `id, project_id, name, type, metadata, signing_secret, receives_notifications,
	disabled, disabled_reason, failing_since, failures, create_time, update_time`

func scanDestination(sc scanner) (*runtime.Destination, error) {
	var d runtime.Destination
	var meta string
	var fs, ct, ut sql.NullInt64
	if err := sc.Scan(&d.ID, &d.ProjectID, &d.Name, &d.Type, &meta, &d.SigningSecret, &d.ReceivesNotifications,
		&d.Disabled, &d.DisabledReason, &fs, &d.Failures, &ct, &ut); err != nil {
		return nil, err
	}
	if err := unmarshal(meta, &d.Metadata); err != nil {
		return nil, err
	}
	d.FailingSince, d.CreateTime, d.UpdateTime = fromMillis(fs), fromMillis(ct), fromMillis(ut)
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

// CreateDestination implements runtime.DestinationStore. A new destination
// is enabled, with no failures, whatever d says.
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
		_, err := tx.ExecContext(ctx, `INSERT INTO destinations (`+destinationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', NULL, 0, ?, ?)`,
			id, d.ProjectID, d.Name, d.Type, meta, blob(d.SigningSecret), d.ReceivesNotifications, now.UnixMilli(), now.UnixMilli())
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

// disabledByUpdate is the DisabledReason of a destination disabled with
// DestinationUpdate.Enabled false.
const disabledByUpdate = "disabled by an update"

// UpdateDestination implements runtime.DestinationStore. Enabled true
// re-enables the destination (clearing its failures) and makes all of its
// queued messages due now, in the same transaction; Enabled false disables
// it and holds its messages, as DestinationFailed does.
func (s *Store) UpdateDestination(ctx context.Context, projectID, id string, upd runtime.DestinationUpdate) (*runtime.Destination, error) {
	var out *runtime.Destination
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		d, err := getDestination(ctx, tx, projectID, `id`, id)
		if err != nil {
			return err
		}
		now := s.nowMillis()
		if upd.ReceivesNotifications != nil {
			d.ReceivesNotifications = *upd.ReceivesNotifications
		}
		if upd.Enabled != nil && *upd.Enabled {
			d.Disabled, d.DisabledReason, d.Failures, d.FailingSince = false, "", 0, time.Time{}
			if err := releaseMessages(ctx, tx, projectID, id, now); err != nil {
				return err
			}
		}
		if upd.Enabled != nil && !*upd.Enabled && !d.Disabled {
			d.Disabled, d.DisabledReason = true, disabledByUpdate
			if err := holdMessages(ctx, tx, projectID, id); err != nil {
				return err
			}
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
		_, err = tx.ExecContext(ctx, `UPDATE destinations SET name = ?, metadata = ?, signing_secret = ?, receives_notifications = ?,
				disabled = ?, disabled_reason = ?, failing_since = ?, failures = ?, update_time = ?
			WHERE project_id = ? AND id = ?`,
			d.Name, meta, blob(d.SigningSecret), d.ReceivesNotifications, d.Disabled, d.DisabledReason, millis(d.FailingSince),
			d.Failures, now.UnixMilli(), projectID, id)
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

// DeleteDestination implements runtime.DestinationStore. Its queued
// messages are deleted with it (ON DELETE CASCADE).
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
