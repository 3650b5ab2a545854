package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ampforge/amp/runtime"
)

// TestQueryPlans pins the plans of the engine's and delivery's hot
// statements: each reads the index named, no table is scanned and nothing
// is sorted, so their cost does not grow with the backlog.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		want  []string
	}{
		{"ClaimOperation", claimOperationQuery, []any{1, "w", 2, 3},
			[]string{"MERGE (UNION ALL)", "USING INDEX operations_claim (status=? AND run_at<?)", "USING INDEX operations_claim (status=?)",
				"USING INDEX operations_object (project_id=? AND installation_id=? AND object_name=? AND action_type=? AND status=?)",
				"USING INDEX sqlite_autoindex_read_states_1"}},
		{"ClaimMessages", claimMessagesQuery, []any{1, 10},
			[]string{"SEARCH o USING INDEX outbox_due", "SEARCH d USING INDEX", "SEARCH b USING INTEGER PRIMARY KEY"}},
		{"ClaimMessages update", `UPDATE outbox SET next_attempt = ? WHERE seq IN (SELECT value FROM json_each(?))`, []any{1, "[1]"},
			[]string{"USING INTEGER PRIMARY KEY"}},
		{"AckMessages", `DELETE FROM outbox WHERE project_id = ? AND id IN (SELECT value FROM json_each(?))`, []any{"p", `["a"]`},
			[]string{"USING COVERING INDEX sqlite_autoindex_outbox_1 (project_id=? AND id=?)", "SEARCH outbox_bodies USING INTEGER PRIMARY KEY"}},
		{"CountMessages", countMessagesQuery, []any{"p", "d"},
			[]string{"USING COVERING INDEX outbox_destination"}},
		{"DueReads", dueReadsQuery, []any{1, 10},
			[]string{"USING INDEX read_states_due"}},
		{"active operation", activeOperationQuery, []any{"p", "i", "o", "read"},
			[]string{"USING COVERING INDEX operations_object (project_id=? AND installation_id=? AND object_name=? AND action_type=? AND status=?)"}},
		{"BeginIdempotent", beginIdempotentQuery, []any{"p", "k", "h", "", 1, 2},
			[]string{"SCAN CONSTANT ROW"}},
		{"BeginIdempotent existing", `SELECT ` + idempotencyColumns + ` FROM idempotency WHERE project_id = ? AND key = ?`, []any{"p", "k"},
			[]string{"USING INDEX sqlite_autoindex_idempotency_1 (project_id=? AND key=?)"}},
		{"RecordEchoes", recordEchoesQuery, []any{"p", "i", "o", `[["r","f"]]`, 1},
			[]string{"SCAN json_each"}},
		{"TakeEchoes", takeEchoesQuery, []any{"p", "i", "o", `["r"]`},
			[]string{"SEARCH echoes USING PRIMARY KEY (project_id=? AND installation_id=? AND object_name=? AND record_id=?)"}},
		{"DeleteExpiredWriteState idempotency", `DELETE FROM idempotency WHERE expire_time <= ?`, []any{1},
			[]string{"USING COVERING INDEX idempotency_expiry (expire_time<?)"}},
		{"DeleteExpiredWriteState echoes", `DELETE FROM echoes WHERE expire_time <= ?`, []any{1},
			[]string{"USING INDEX echoes_expiry (expire_time<?)"}},
		{"DeleteDestination cascade", `DELETE FROM destinations WHERE project_id = ? AND id = ?`, []any{"p", "d"},
			[]string{"SEARCH outbox USING COVERING INDEX outbox_destination"}},
		{"DeleteInstallation cascade", `DELETE FROM installations WHERE project_id = ? AND id = ?`, []any{"p", "i"},
			[]string{"SEARCH read_states USING COVERING INDEX sqlite_autoindex_read_states_1", "SEARCH operations USING COVERING INDEX operations_object",
				"SEARCH echoes USING PRIMARY KEY (project_id=? AND installation_id=?)"}},
	} {
		rows, err := s.write.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tc.query, tc.args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: plan lacks %q:\n%s", tc.name, w, text)
			}
		}
		for _, line := range plan {
			scan := strings.HasPrefix(line, "SCAN") && !strings.HasPrefix(line, "SCAN json_each") && !strings.HasPrefix(line, "SCAN (subquery") &&
				line != "SCAN CONSTANT ROW"
			if scan || strings.Contains(line, "TEMP B-TREE") {
				t.Errorf("%s: plan has %q:\n%s", tc.name, line, text)
			}
		}
	}
}

// TestMigrateDestinations opens a file that 0001 made, with a destination,
// and checks 0002 gives the destination the delivery columns' defaults
// (and 0003 applies on top).
func TestMigrateDestinations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "amp.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p := &runtime.Project{Name: "p", AppName: "P"}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	d := &runtime.Destination{ProjectID: p.ID, Name: "hook", Type: runtime.DestinationWebhook, Metadata: runtime.DestinationMetadata{URL: "https://x"}}
	if err := s.CreateDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	// Back to the 0001 schema: drop what 0002 and 0003 added (SQLite 3.35+
	// drops columns), and forget that they ran.
	_, err = s.write.ExecContext(ctx, `
		DROP TABLE echoes; DROP TABLE idempotency;
		DROP TABLE outbox_bodies; DROP TABLE outbox; DROP TABLE read_states; DROP TABLE operation_logs; DROP TABLE operations;
		ALTER TABLE destinations DROP COLUMN receives_notifications;
		ALTER TABLE destinations DROP COLUMN disabled;
		ALTER TABLE destinations DROP COLUMN disabled_reason;
		ALTER TABLE destinations DROP COLUMN failing_since;
		ALTER TABLE destinations DROP COLUMN failures;
		DELETE FROM migrations WHERE name IN ('0002_engine.sql', '0003_writes.sql');`)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetDestination(ctx, p.ID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Fatalf("destination after migrating (-want +got):\n%s", diff)
	}
	if n, err := s.CountMessages(ctx, p.ID, d.ID); err != nil || n != 0 {
		t.Fatalf("CountMessages after migrating = %d, %v", n, err)
	}
}

// TestBodiesGoWithTheirMessages checks no body outlives its message: acked,
// or deleted with its destination.
func TestBodiesGoWithTheirMessages(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openTest(t)
	p := &runtime.Project{Name: "p", AppName: "P"}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	var ds []*runtime.Destination
	for _, name := range []string{"acked", "deleted"} {
		d := &runtime.Destination{ProjectID: p.ID, Name: name, Type: runtime.DestinationWebhook, Metadata: runtime.DestinationMetadata{URL: "https://x"}}
		if err := s.CreateDestination(ctx, d); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	var msgs []*runtime.OutboxMessage
	for i := range 10 {
		msgs = append(msgs, &runtime.OutboxMessage{ProjectID: p.ID, DestinationID: ds[i%2].ID, Body: make([]byte, 100<<10)})
	}
	if err := s.EnqueueMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	bodies := func() int {
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox_bodies`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := bodies(); n != 10 {
		t.Fatalf("%d bodies for 10 messages", n)
	}
	var acked []string
	for _, m := range msgs {
		if m.DestinationID == ds[0].ID {
			acked = append(acked, m.ID)
		}
	}
	if err := s.AckMessages(ctx, p.ID, acked); err != nil {
		t.Fatal(err)
	}
	if n := bodies(); n != 5 {
		t.Fatalf("%d bodies after acking 5 of 10 messages", n)
	}
	if err := s.DeleteDestination(ctx, p.ID, ds[1].ID); err != nil {
		t.Fatal(err)
	}
	if n := bodies(); n != 0 {
		t.Fatalf("%d bodies left after the destination of the rest was deleted", n)
	}
}
