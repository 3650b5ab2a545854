package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ampforge/amp/runtime"
)

const projectColumns = `id, name, app_name, create_time, update_time`

func scanProject(sc scanner) (*runtime.Project, error) {
	var p runtime.Project
	var ct, ut sql.NullInt64
	if err := sc.Scan(&p.ID, &p.Name, &p.AppName, &ct, &ut); err != nil {
		return nil, err
	}
	p.CreateTime, p.UpdateTime = fromMillis(ct), fromMillis(ut)
	return &p, nil
}

// CreateProject implements runtime.ProjectStore.
func (s *Store) CreateProject(ctx context.Context, p *runtime.Project) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("sqlite: create project: %w", err)
	}
	id := idOrNew(p.ID)
	now := s.nowMillis()
	_, err := s.write.ExecContext(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES (?, ?, ?, ?, ?)`,
		id, p.Name, p.AppName, now.UnixMilli(), now.UnixMilli())
	if isUnique(err) {
		err = runtime.Errorf(runtime.ECONFLICT, "a project named %q (or with id %q) already exists", p.Name, id)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create project %q: %w", p.Name, mapErr(err))
	}
	p.ID, p.CreateTime, p.UpdateTime = id, now, now
	return nil
}

// GetProject implements runtime.ProjectStore.
func (s *Store) GetProject(ctx context.Context, id string) (*runtime.Project, error) {
	p, err := getProject(ctx, s.read, `id`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get project %q: %w", id, err)
	}
	return p, nil
}

// GetProjectByName implements runtime.ProjectStore.
func (s *Store) GetProjectByName(ctx context.Context, name string) (*runtime.Project, error) {
	p, err := getProject(ctx, s.read, `name`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get project named %q: %w", name, err)
	}
	return p, nil
}

func getProject(ctx context.Context, q querier, column, value string) (*runtime.Project, error) {
	p, err := scanProject(q.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE `+column+` = ?`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "project %q not found", value)
	}
	return p, mapErr(err)
}

// ListProjects implements runtime.ProjectStore.
func (s *Store) ListProjects(ctx context.Context) ([]*runtime.Project, error) {
	ps, err := queryList(ctx, s.read, scanProject, `SELECT `+projectColumns+` FROM projects ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list projects: %w", err)
	}
	return ps, nil
}

// UpdateProject implements runtime.ProjectStore.
func (s *Store) UpdateProject(ctx context.Context, id string, upd runtime.ProjectUpdate) (*runtime.Project, error) {
	var out *runtime.Project
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		p, err := getProject(ctx, tx, `id`, id)
		if err != nil {
			return err
		}
		if upd.Name != nil {
			p.Name = *upd.Name
		}
		if upd.AppName != nil {
			p.AppName = *upd.AppName
		}
		if err := p.Validate(); err != nil {
			return err
		}
		p.UpdateTime = s.nowMillis()
		_, err = tx.ExecContext(ctx, `UPDATE projects SET name = ?, app_name = ?, update_time = ? WHERE id = ?`,
			p.Name, p.AppName, p.UpdateTime.UnixMilli(), p.ID)
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "a project named %q already exists", p.Name)
		}
		out = p
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: update project %q: %w", id, err)
	}
	return out, nil
}
