package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ampforge/amp/runtime"
)

// newInstallation creates a project with an installation in s.
func newInstallation(tb testing.TB, s *Store) *runtime.Installation {
	tb.Helper()
	ctx := tb.Context()
	p := &runtime.Project{Name: "p", AppName: "P"}
	if err := s.CreateProject(ctx, p); err != nil {
		tb.Fatal(err)
	}
	res, err := s.DeployIntegrations(ctx, p.ID, []runtime.IntegrationDeploy{{Name: "i", Provider: "salesforce", SpecVersion: "1.0.0",
		Content: []byte("specVersion: 1.0.0\n")}})
	if err != nil {
		tb.Fatal(err)
	}
	c := &runtime.Connection{ProjectID: p.ID, Provider: "salesforce", GroupRef: "g", AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode,
		Status: runtime.ConnectionCreated, Tokens: []byte("t")}
	if err := s.CreateConnection(ctx, c); err != nil {
		tb.Fatal(err)
	}
	in := &runtime.Installation{ProjectID: p.ID, IntegrationID: res[0].Integration.ID, GroupRef: "g", ConnectionID: c.ID,
		Config: runtime.InstallationConfig{Content: runtime.ConfigContent{Provider: "salesforce"}}}
	if err := s.CreateInstallation(ctx, in); err != nil {
		tb.Fatal(err)
	}
	return in
}

// TestWriteStateRefusals covers what this store refuses beyond the
// runtime.WriteStateStore contract.
func TestWriteStateRefusals(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := t.Context()
	in := newInstallation(t, s)
	if _, err := s.SyncReadStates(ctx, in.ProjectID, in.ID, []runtime.ReadStateSpec{{ObjectName: "account"}}); err != nil {
		t.Fatal(err)
	}
	expire := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"BeginIdempotent(unknown project)", func() error {
			_, err := s.BeginIdempotent(ctx, &runtime.IdempotencyRecord{ProjectID: runtime.NewID(), Key: "k", RequestHash: "h", ExpireTime: expire})
			return err
		}, runtime.ENOTFOUND},
		{"FinishIdempotent(status 0)", func() error {
			if _, err := s.BeginIdempotent(ctx, &runtime.IdempotencyRecord{ProjectID: in.ProjectID, Key: "k", RequestHash: "h", ExpireTime: expire}); err != nil {
				return err
			}
			return s.FinishIdempotent(ctx, in.ProjectID, "k", 0, nil, "")
		}, runtime.EINVALID},
		{"RecordEchoes(no record ID)", func() error {
			return s.RecordEchoes(ctx, in.ProjectID, in.ID, "account", []runtime.Echo{{RecordID: "r1"}, {Fingerprint: "f"}}, expire)
		}, runtime.EINVALID},
		{"RecordEchoes(unknown installation)", func() error {
			return s.RecordEchoes(ctx, in.ProjectID, runtime.NewID(), "account", []runtime.Echo{{RecordID: "r1"}}, expire)
		}, runtime.ENOTFOUND},
		{"ScheduleRead(a write)", func() error {
			_, err := s.ScheduleRead(ctx, in.ProjectID, in.ID, "account", expire, &runtime.Operation{ActionType: runtime.ActionWrite, Estimated: -1})
			return err
		}, runtime.EINVALID},
	} {
		if got := runtime.ErrorCode(tc.call()); got != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.code)
		}
	}
	got, err := s.TakeEchoes(ctx, in.ProjectID, in.ID, "account", []string{"r1"})
	if err != nil || len(got) != 0 {
		t.Fatalf("TakeEchoes after a refused RecordEchoes = %v, %v; want nothing", got, err)
	}
}

// TestMigrateWrites opens a file that 0002 made, with operations, and checks
// 0003 keeps them and gives operations_object its action type column.
func TestMigrateWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "amp.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	in := newInstallation(t, s)
	op := &runtime.Operation{ProjectID: in.ProjectID, IntegrationID: in.IntegrationID, InstallationID: in.ID, ObjectName: "account",
		ActionType: runtime.ActionRead, ReadType: runtime.ReadBackfill, Estimated: -1}
	if err := s.CreateOperation(ctx, op, false); err != nil {
		t.Fatal(err)
	}
	// Back to the 0002 schema.
	_, err = s.write.ExecContext(ctx, `
		DROP TABLE echoes; DROP TABLE idempotency; DROP INDEX operations_object;
		CREATE INDEX operations_object ON operations (project_id, installation_id, object_name, status);
		DELETE FROM migrations WHERE name = '0003_writes.sql';`)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetOperation(ctx, op.ProjectID, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(op, got); diff != "" {
		t.Fatalf("operation after migrating (-want +got):\n%s", diff)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT name FROM pragma_index_info('operations_object') ORDER BY seqno`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if diff := cmp.Diff([]string{"project_id", "installation_id", "object_name", "action_type", "status"}, cols); diff != "" {
		t.Fatalf("operations_object columns (-want +got):\n%s", diff)
	}
	if err := s.RecordEchoes(ctx, in.ProjectID, in.ID, "account", []runtime.Echo{{RecordID: "r", Fingerprint: "f"}}, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("RecordEchoes after migrating: %v", err)
	}
}

// benchEchoes records then takes batches of n echoes, as a write batch and
// the read page that sees it back do.
func benchEchoes(b *testing.B, n int) {
	s := openTest(b)
	in := newInstallation(b, s)
	ctx := b.Context()
	es := make([]runtime.Echo, n)
	ids := make([]string, n)
	for i := range es {
		ids[i] = fmt.Sprintf("001Dn00000%08d", i)
		es[i] = runtime.Echo{RecordID: ids[i], Fingerprint: fmt.Sprintf("%064x", i)}
	}
	expire := time.Now().Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.RecordEchoes(ctx, in.ProjectID, in.ID, "account", es, expire); err != nil {
			b.Fatal(err)
		}
		got, err := s.TakeEchoes(ctx, in.ProjectID, in.ID, "account", ids)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != n {
			b.Fatalf("took %d echoes, want %d", len(got), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/echo")
}

// BenchmarkEchoes: a batch of 2,000 records.
func BenchmarkEchoes(b *testing.B) { benchEchoes(b, 2000) }
