package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ampforge/amp/runtime"
)

const uploadColumns = `id, project_id, token_hash, md5, content, create_time, expire_time, upload_time`

func scanUpload(sc scanner) (*runtime.Upload, error) {
	var u runtime.Upload
	var ct, et, ut sql.NullInt64
	if err := sc.Scan(&u.ID, &u.ProjectID, &u.TokenHash, &u.MD5, &u.Content, &ct, &et, &ut); err != nil {
		return nil, err
	}
	u.CreateTime, u.ExpireTime, u.UploadTime = fromMillis(ct), fromMillis(et), fromMillis(ut)
	return &u, nil
}

func getUpload(ctx context.Context, q querier, projectID, id string) (*runtime.Upload, error) {
	u, err := scanUpload(q.QueryRowContext(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE project_id = ? AND id = ?`, projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "upload %q not found", id)
	}
	return u, mapErr(err)
}

// CreateUpload implements runtime.UploadStore.
func (s *Store) CreateUpload(ctx context.Context, u *runtime.Upload) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("sqlite: create upload: %w", err)
	}
	var out *runtime.Upload
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := checkProject(ctx, tx, u.ProjectID); err != nil {
			return err
		}
		id := idOrNew(u.ID)
		_, err := tx.ExecContext(ctx, `INSERT INTO uploads (id, project_id, token_hash, md5, create_time, expire_time) VALUES (?, ?, ?, ?, ?, ?)`,
			id, u.ProjectID, u.TokenHash, u.MD5, s.nowMillis().UnixMilli(), runtime.Millis(u.ExpireTime).UnixMilli())
		if isUnique(err) {
			return runtime.Errorf(runtime.ECONFLICT, "the upload token (or the id %q) is taken", id)
		}
		if err != nil {
			return mapErr(err)
		}
		out, err = getUpload(ctx, tx, u.ProjectID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create upload: %w", err)
	}
	*u = *out
	return nil
}

// GetUploadByTokenHash implements runtime.UploadStore.
func (s *Store) GetUploadByTokenHash(ctx context.Context, hash []byte) (*runtime.Upload, error) {
	u, err := scanUpload(s.read.QueryRowContext(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		err = runtime.Errorf(runtime.ENOTFOUND, "upload not found")
	}
	if err != nil {
		// Neither the token nor its hash goes into the error.
		return nil, fmt.Errorf("sqlite: get upload by token: %w", mapErr(err))
	}
	return u, nil
}

// CompleteUpload implements runtime.UploadStore.
func (s *Store) CompleteUpload(ctx context.Context, projectID, id string, content []byte, now time.Time) (*runtime.Upload, error) {
	if content == nil {
		content = []byte{}
	}
	var out *runtime.Upload
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE uploads SET content = ?, upload_time = ? WHERE project_id = ? AND id = ? AND content IS NULL`,
			content, runtime.Millis(now).UnixMilli(), projectID, id)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return mapErr(err)
		} else if n == 0 {
			if _, err := getUpload(ctx, tx, projectID, id); err != nil {
				return err
			}
			return runtime.Errorf(runtime.ECONFLICT, "upload %q already has its content", id)
		}
		out, err = getUpload(ctx, tx, projectID, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: complete upload %q: %w", id, err)
	}
	return out, nil
}

// GetUpload implements runtime.UploadStore.
func (s *Store) GetUpload(ctx context.Context, projectID, id string) (*runtime.Upload, error) {
	u, err := getUpload(ctx, s.read, projectID, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get upload %q: %w", id, err)
	}
	return u, nil
}

// DeleteExpiredUploads implements runtime.UploadStore.
func (s *Store) DeleteExpiredUploads(ctx context.Context, before time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM uploads WHERE expire_time < ?`, runtime.Millis(before).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired uploads: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired uploads: %w", err)
	}
	return int(n), nil
}
