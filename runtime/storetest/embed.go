package storetest

import (
	"context"
	"crypto/md5"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

func (f *fixture) jwtKey(t *testing.T, projectID, pub string) *runtime.JWTKey {
	t.Helper()
	k := &runtime.JWTKey{ProjectID: projectID, Label: "web", Algorithm: runtime.JWTAlgEdDSA,
		PublicKey: []byte(pub), Fingerprint: keyHash(pub)}
	noErr(t, "CreateJWTKey", f.s.CreateJWTKey(f.ctx, k))
	return k
}

var jwtKeyTests = []test{
	{"CRUD", func(t *testing.T, f *fixture) {
		before := time.Now()
		k := f.jwtKey(t, f.a.ID, "pub-1")
		wantTime(t, "CreateTime", k.CreateTime, before, time.Now())
		if k.ID == "" {
			t.Fatalf("CreateJWTKey returned %+v", k)
		}
		got, err := f.s.LookupJWTKey(f.ctx, k.ID)
		noErr(t, "LookupJWTKey", err)
		same(t, "LookupJWTKey", k, got)
		_, err = f.s.LookupJWTKey(f.ctx, "no-such-kid")
		wantCode(t, "LookupJWTKey(unknown)", err, runtime.ENOTFOUND)

		k2 := f.jwtKey(t, f.a.ID, "pub-2")
		kb := f.jwtKey(t, f.b.ID, "pub-1") // the same key in another project
		list, err := f.s.ListJWTKeys(f.ctx, f.a.ID)
		noErr(t, "ListJWTKeys", err)
		if len(list) != 2 || list[0].ID == list[1].ID || (list[0].ID != k.ID && list[0].ID != k2.ID) {
			t.Fatalf("ListJWTKeys = %+v, want the project's two keys", list)
		}

		wantCode(t, "DeleteJWTKey(other project)", f.s.DeleteJWTKey(f.ctx, f.a.ID, kb.ID), runtime.ENOTFOUND)
		noErr(t, "DeleteJWTKey", f.s.DeleteJWTKey(f.ctx, f.a.ID, k.ID))
		_, err = f.s.LookupJWTKey(f.ctx, k.ID)
		wantCode(t, "LookupJWTKey after delete", err, runtime.ENOTFOUND)
		wantCode(t, "DeleteJWTKey again", f.s.DeleteJWTKey(f.ctx, f.a.ID, k.ID), runtime.ENOTFOUND)
		if _, err := f.s.LookupJWTKey(f.ctx, kb.ID); err != nil {
			t.Fatalf("LookupJWTKey(B's key) after A's delete: %v", err)
		}
	}},
	{"Invalid", func(t *testing.T, f *fixture) {
		f.jwtKey(t, f.a.ID, "pub-1")
		for _, tc := range []struct {
			name string
			k    runtime.JWTKey
			code string
		}{
			{"same key twice", runtime.JWTKey{ProjectID: f.a.ID, Algorithm: runtime.JWTAlgEdDSA, PublicKey: []byte("pub-1"), Fingerprint: keyHash("pub-1")}, runtime.ECONFLICT},
			{"unknown algorithm", runtime.JWTKey{ProjectID: f.a.ID, Algorithm: "none", PublicKey: []byte("x"), Fingerprint: keyHash("x")}, runtime.EINVALID},
			{"no key", runtime.JWTKey{ProjectID: f.a.ID, Algorithm: runtime.JWTAlgES256, Fingerprint: keyHash("y")}, runtime.EINVALID},
			{"missing project", runtime.JWTKey{ProjectID: runtime.NewID(), Algorithm: runtime.JWTAlgRS256, PublicKey: []byte("z"), Fingerprint: keyHash("z")}, runtime.ENOTFOUND},
		} {
			wantCode(t, tc.name, f.s.CreateJWTKey(f.ctx, &tc.k), tc.code)
		}
	}},
}

func (f *fixture) upload(t *testing.T, projectID, token string, expire time.Time) *runtime.Upload {
	t.Helper()
	sum := md5.Sum([]byte("zip:" + token))
	u := &runtime.Upload{ProjectID: projectID, TokenHash: keyHash(token), MD5: sum[:], ExpireTime: expire}
	noErr(t, "CreateUpload", f.s.CreateUpload(f.ctx, u))
	return u
}

var uploadTests = []test{
	{"Lifecycle", func(t *testing.T, f *fixture) {
		expire := runtime.Millis(time.Now().Add(time.Hour))
		u := f.upload(t, f.a.ID, "tok-1", expire)
		if u.ID == "" || u.Content != nil || !u.UploadTime.IsZero() || !u.ExpireTime.Equal(expire) {
			t.Fatalf("CreateUpload returned %+v", u)
		}
		got, err := f.s.GetUploadByTokenHash(f.ctx, keyHash("tok-1"))
		noErr(t, "GetUploadByTokenHash", err)
		same(t, "GetUploadByTokenHash", u, got)
		_, err = f.s.GetUploadByTokenHash(f.ctx, keyHash("tok-2"))
		wantCode(t, "GetUploadByTokenHash(unknown)", err, runtime.ENOTFOUND)

		_, err = f.s.CompleteUpload(f.ctx, f.b.ID, u.ID, []byte("PK"), time.Now())
		wantCode(t, "CompleteUpload(other project)", err, runtime.ENOTFOUND)
		_, err = f.s.GetUpload(f.ctx, f.b.ID, u.ID)
		wantCode(t, "GetUpload(other project)", err, runtime.ENOTFOUND)

		now := runtime.Millis(time.Now())
		done, err := f.s.CompleteUpload(f.ctx, f.a.ID, u.ID, []byte("PK"), now)
		noErr(t, "CompleteUpload", err)
		if string(done.Content) != "PK" || !done.UploadTime.Equal(now) {
			t.Fatalf("CompleteUpload returned %+v", done)
		}
		_, err = f.s.CompleteUpload(f.ctx, f.a.ID, u.ID, []byte("other"), now)
		wantCode(t, "CompleteUpload again", err, runtime.ECONFLICT)
		got, err = f.s.GetUpload(f.ctx, f.a.ID, u.ID)
		noErr(t, "GetUpload", err)
		same(t, "GetUpload", done, got)
	}},
	{"Expiry", func(t *testing.T, f *fixture) {
		now := time.Now()
		old := f.upload(t, f.a.ID, "old", now.Add(-time.Minute))
		oldB := f.upload(t, f.b.ID, "old-b", now.Add(-time.Minute))
		fresh := f.upload(t, f.a.ID, "fresh", now.Add(time.Hour))
		n, err := f.s.DeleteExpiredUploads(f.ctx, now)
		noErr(t, "DeleteExpiredUploads", err)
		if n != 2 {
			t.Fatalf("DeleteExpiredUploads = %d, want 2", n)
		}
		for _, u := range []*runtime.Upload{old, oldB} {
			_, err := f.s.GetUpload(f.ctx, u.ProjectID, u.ID)
			wantCode(t, "GetUpload(expired)", err, runtime.ENOTFOUND)
		}
		_, err = f.s.GetUpload(f.ctx, f.a.ID, fresh.ID)
		noErr(t, "GetUpload(fresh)", err)
	}},
	{"Invalid", func(t *testing.T, f *fixture) {
		f.upload(t, f.a.ID, "tok", time.Now().Add(time.Hour))
		sum := md5.Sum(nil)
		for _, tc := range []struct {
			name string
			u    runtime.Upload
			code string
		}{
			{"token taken", runtime.Upload{ProjectID: f.b.ID, TokenHash: keyHash("tok"), MD5: sum[:], ExpireTime: time.Now()}, runtime.ECONFLICT},
			{"no md5", runtime.Upload{ProjectID: f.a.ID, TokenHash: keyHash("t2"), ExpireTime: time.Now()}, runtime.EINVALID},
			{"no expiry", runtime.Upload{ProjectID: f.a.ID, TokenHash: keyHash("t3"), MD5: sum[:]}, runtime.EINVALID},
			{"missing project", runtime.Upload{ProjectID: runtime.NewID(), TokenHash: keyHash("t4"), MD5: sum[:], ExpireTime: time.Now()}, runtime.ENOTFOUND},
		} {
			wantCode(t, tc.name, f.s.CreateUpload(context.WithoutCancel(f.ctx), &tc.u), tc.code)
		}
	}},
}
