package storetest

import (
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

var deployTests = []test{
	{"FirstDeployCreates", func(t *testing.T, f *fixture) {
		d := deployOf("readAccounts", "salesforce", 1)
		before := time.Now()
		res := f.deploy(t, f.a.ID, d)
		after := time.Now()
		r := res[0]
		if !r.Created || !r.Changed {
			t.Fatalf("first deploy: Created=%v Changed=%v, want both", r.Created, r.Changed)
		}
		i := r.Integration
		if i.ID == "" || i.ProjectID != f.a.ID || i.Name != "readAccounts" || i.Provider != "salesforce" {
			t.Fatalf("deployed integration %+v", i)
		}
		wantTime(t, "CreateTime", i.CreateTime, before, after)
		rev := i.LatestRevision
		if rev == nil {
			t.Fatal("LatestRevision is nil")
		}
		if rev.ID != i.LatestRevisionID || rev.IntegrationID != i.ID || rev.ProjectID != f.a.ID || rev.Number != 1 || rev.SpecVersion != "1.0.0" {
			t.Fatalf("first revision %+v", rev)
		}
		same(t, "content", string(d.Content), string(rev.Content))
		same(t, "hash", runtime.ContentHash(d.Content), rev.Hash)
		wantTime(t, "revision CreateTime", rev.CreateTime, before, after)

		got, err := f.s.GetIntegration(f.ctx, f.a.ID, i.ID)
		noErr(t, "GetIntegration", err)
		same(t, "GetIntegration", &i, got)
		got, err = f.s.GetIntegrationByName(f.ctx, f.a.ID, "readAccounts")
		noErr(t, "GetIntegrationByName", err)
		same(t, "GetIntegrationByName", &i, got)
		gotRev, err := f.s.GetRevision(f.ctx, f.a.ID, i.ID, rev.ID)
		noErr(t, "GetRevision", err)
		same(t, "GetRevision", rev, gotRev)
		revs, err := f.s.ListRevisions(f.ctx, f.a.ID, i.ID)
		noErr(t, "ListRevisions", err)
		same(t, "ListRevisions", []*runtime.Revision{rev}, revs)
	}},
	{"UnchangedMakesNoRevision", func(t *testing.T, f *fixture) {
		first := f.deploy(t, f.a.ID, deployOf("x", "hubspot", 1))[0]
		again := f.deploy(t, f.a.ID, deployOf("x", "hubspot", 1))[0]
		if again.Created || again.Changed {
			t.Fatalf("unchanged deploy: Created=%v Changed=%v, want neither", again.Created, again.Changed)
		}
		same(t, "integration after an unchanged deploy", first.Integration, again.Integration)
		revs, err := f.s.ListRevisions(f.ctx, f.a.ID, first.Integration.ID)
		noErr(t, "ListRevisions", err)
		if len(revs) != 1 {
			t.Fatalf("%d revisions after an unchanged deploy, want 1", len(revs))
		}
	}},
	{"ChangedMakesRevision", func(t *testing.T, f *fixture) {
		first := f.deploy(t, f.a.ID, deployOf("x", "hubspot", 1))[0]
		second := f.deploy(t, f.a.ID, deployOf("x", "hubspot", 2))[0]
		if second.Created || !second.Changed {
			t.Fatalf("changed deploy: Created=%v Changed=%v, want Changed only", second.Created, second.Changed)
		}
		i := second.Integration
		if i.ID != first.Integration.ID || !i.CreateTime.Equal(first.Integration.CreateTime) {
			t.Fatalf("a changed deploy replaced the integration: %+v", i)
		}
		if i.LatestRevisionID == first.Integration.LatestRevisionID || i.LatestRevision.Number != 2 {
			t.Fatalf("latest revision %+v, want a new revision 2", i.LatestRevision)
		}
		same(t, "content", string(manifest("x", "hubspot", 2)), string(i.LatestRevision.Content))
		if i.UpdateTime.Before(first.Integration.UpdateTime) {
			t.Errorf("UpdateTime went back: %v < %v", i.UpdateTime, first.Integration.UpdateTime)
		}
		revs, err := f.s.ListRevisions(f.ctx, f.a.ID, i.ID)
		noErr(t, "ListRevisions", err)
		same(t, "ListRevisions (newest first)", []*runtime.Revision{i.LatestRevision, first.Integration.LatestRevision}, revs)
		old, err := f.s.GetRevision(f.ctx, f.a.ID, i.ID, first.Integration.LatestRevisionID)
		noErr(t, "GetRevision(1)", err)
		same(t, "revision 1 after revision 2", first.Integration.LatestRevision, old)

		// Going back to the first content is a change from the latest.
		third := f.deploy(t, f.a.ID, deployOf("x", "hubspot", 1))[0]
		if !third.Changed || third.Integration.LatestRevision.Number != 3 {
			t.Fatalf("deploying the first content again: Changed=%v number=%d, want a revision 3", third.Changed, third.Integration.LatestRevision.Number)
		}
	}},
	{"CallerHash", func(t *testing.T, f *fixture) {
		d := deployOf("x", "dynamics", 1)
		d.Hash = "canonical-1"
		first := f.deploy(t, f.a.ID, d)[0]
		same(t, "hash", "canonical-1", first.Integration.LatestRevision.Hash)
		d2 := deployOf("x", "dynamics", 2) // other bytes, same canonical hash
		d2.Hash = "canonical-1"
		if r := f.deploy(t, f.a.ID, d2)[0]; r.Changed {
			t.Fatal("a deploy with the same caller hash made a revision")
		}
	}},
	{"BatchIsAtomic", func(t *testing.T, f *fixture) {
		res := f.deploy(t, f.a.ID, deployOf("x", "salesforce", 1), deployOf("w", "hubspot", 1))
		x, w := res[0].Integration, res[1].Integration

		// The last entry changes w's provider: nothing of the batch stays.
		_, err := f.s.DeployIntegrations(f.ctx, f.a.ID, []runtime.IntegrationDeploy{
			deployOf("y", "hubspot", 1), deployOf("x", "salesforce", 2), deployOf("w", "salesforce", 1),
		})
		wantCode(t, "batch changing w's provider", err, runtime.ECONFLICT)
		_, err = f.s.GetIntegrationByName(f.ctx, f.a.ID, "y")
		wantCode(t, "y after the failed batch", err, runtime.ENOTFOUND)
		list, err := f.s.ListIntegrations(f.ctx, f.a.ID)
		noErr(t, "ListIntegrations", err)
		same(t, "integrations after the failed batch", []*runtime.Integration{&w, &x}, list)
		revs, err := f.s.ListRevisions(f.ctx, f.a.ID, x.ID)
		noErr(t, "ListRevisions(x)", err)
		if len(revs) != 1 {
			t.Fatalf("x has %d revisions after the failed batch, want 1", len(revs))
		}

		// The same batch without the provider change applies in order.
		res = f.deploy(t, f.a.ID, deployOf("y", "hubspot", 1), deployOf("x", "salesforce", 2), deployOf("w", "hubspot", 1))
		if !res[0].Created || res[0].Integration.Name != "y" {
			t.Errorf("result 0: %+v, want y created", res[0])
		}
		if res[1].Created || !res[1].Changed || res[1].Integration.Name != "x" {
			t.Errorf("result 1: %+v, want x changed", res[1])
		}
		if res[2].Changed || res[2].Integration.Name != "w" {
			t.Errorf("result 2: %+v, want w unchanged", res[2])
		}
	}},
	{"BatchInvalid", func(t *testing.T, f *fixture) {
		existing := f.deploy(t, f.a.ID, deployOf("x", "salesforce", 1))[0].Integration
		bad := deployOf("z", "salesforce", 1)
		bad.Content = nil
		for _, tc := range []struct {
			name    string
			deploys []runtime.IntegrationDeploy
			code    string
		}{
			{"empty batch", nil, runtime.EINVALID},
			{"no content", []runtime.IntegrationDeploy{deployOf("x", "salesforce", 2), bad}, runtime.EINVALID},
			{"no name", []runtime.IntegrationDeploy{{Provider: "salesforce", SpecVersion: "1.0.0", Content: []byte("a")}}, runtime.EINVALID},
			{"no provider", []runtime.IntegrationDeploy{{Name: "n", SpecVersion: "1.0.0", Content: []byte("a")}}, runtime.EINVALID},
			{"no specVersion", []runtime.IntegrationDeploy{{Name: "n", Provider: "salesforce", Content: []byte("a")}}, runtime.EINVALID},
			{"twice the same name", []runtime.IntegrationDeploy{deployOf("y", "salesforce", 1), deployOf("y", "salesforce", 2)}, runtime.EINVALID},
		} {
			_, err := f.s.DeployIntegrations(f.ctx, f.a.ID, tc.deploys)
			wantCode(t, tc.name, err, tc.code)
		}
		list, err := f.s.ListIntegrations(f.ctx, f.a.ID)
		noErr(t, "ListIntegrations", err)
		same(t, "integrations after invalid batches", []*runtime.Integration{&existing}, list)

		_, err = f.s.DeployIntegrations(f.ctx, runtime.NewID(), []runtime.IntegrationDeploy{deployOf("x", "salesforce", 1)})
		wantCode(t, "deploy to a missing project", err, runtime.ENOTFOUND)
	}},
	{"ListAndNotFound", func(t *testing.T, f *fixture) {
		res := f.deploy(t, f.a.ID, deployOf("b-second", "hubspot", 1), deployOf("a-first", "salesforce", 1))
		list, err := f.s.ListIntegrations(f.ctx, f.a.ID)
		noErr(t, "ListIntegrations", err)
		same(t, "ListIntegrations (by name, with latest revision)", []*runtime.Integration{&res[1].Integration, &res[0].Integration}, list)

		_, err = f.s.GetIntegration(f.ctx, f.a.ID, runtime.NewID())
		wantCode(t, "GetIntegration", err, runtime.ENOTFOUND)
		_, err = f.s.GetIntegrationByName(f.ctx, f.a.ID, "nope")
		wantCode(t, "GetIntegrationByName", err, runtime.ENOTFOUND)
		_, err = f.s.ListRevisions(f.ctx, f.a.ID, runtime.NewID())
		wantCode(t, "ListRevisions of a missing integration", err, runtime.ENOTFOUND)
		// A revision of another integration of the same project.
		_, err = f.s.GetRevision(f.ctx, f.a.ID, res[0].Integration.ID, res[1].Integration.LatestRevisionID)
		wantCode(t, "GetRevision of another integration's revision", err, runtime.ENOTFOUND)
	}},
	{"Delete", func(t *testing.T, f *fixture) {
		i := f.integration(t, f.a.ID, "x", "salesforce")
		c := f.connection(t, f.a.ID, "salesforce", "acme")
		in := f.installation(t, i, c)
		wantCode(t, "DeleteIntegration with an installation", f.s.DeleteIntegration(f.ctx, f.a.ID, i.ID), runtime.ECONFLICT)
		noErr(t, "DeleteInstallation", f.s.DeleteInstallation(f.ctx, f.a.ID, in.ID))
		noErr(t, "DeleteIntegration", f.s.DeleteIntegration(f.ctx, f.a.ID, i.ID))
		_, err := f.s.GetIntegration(f.ctx, f.a.ID, i.ID)
		wantCode(t, "GetIntegration after delete", err, runtime.ENOTFOUND)
		_, err = f.s.GetRevision(f.ctx, f.a.ID, i.ID, i.LatestRevisionID)
		wantCode(t, "GetRevision after delete", err, runtime.ENOTFOUND)
		wantCode(t, "DeleteIntegration again", f.s.DeleteIntegration(f.ctx, f.a.ID, i.ID), runtime.ENOTFOUND)
		// The name is free again.
		if r := f.deploy(t, f.a.ID, deployOf("x", "hubspot", 1))[0]; !r.Created {
			t.Fatal("deploying a deleted integration's name did not create it")
		}
	}},
}
