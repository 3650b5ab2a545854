package runtime

import "time"

// Integration is one named integration of a project's manifest, deployed
// with `amp deploy` (integrations:batch). Each deploy whose content changed
// adds a Revision; LatestRevision is what new installations get.
type Integration struct {
	ID        string `json:"id"`
	ProjectID string `json:"projectId"`
	// Name is the manifest's integration name, unique in the project; a
	// deploy matches integrations by it.
	Name string `json:"name"`
	// Provider cannot change once the integration exists: installations and
	// their connections are bound to it.
	Provider         string `json:"provider"`
	LatestRevisionID string `json:"-"`
	// LatestRevision is the revision LatestRevisionID names. Every Store
	// read fills it in, so listing integrations costs one query.
	LatestRevision *Revision `json:"latestRevision,omitzero"`
	CreateTime     time.Time `json:"createTime"`
	UpdateTime     time.Time `json:"updateTime,omitzero"`
}

// Revision is an immutable deployed version of an integration.
type Revision struct {
	ID            string `json:"id"`
	ProjectID     string `json:"-"`
	IntegrationID string `json:"-"`
	// Number counts the integration's revisions from 1, in deploy order.
	Number int `json:"-"`
	// SpecVersion is the manifest's specVersion (Ampersand's "1.0.0").
	SpecVersion string `json:"specVersion"`
	// Content is the integration's manifest text (YAML) as deployed. The API
	// serves it as JSON (Ampersand's Revision.content); the Store keeps the
	// bytes as given.
	Content []byte `json:"-"`
	// Hash identifies Content for "unchanged" detection; by default
	// ContentHash(Content).
	Hash       string    `json:"-"`
	CreateTime time.Time `json:"createTime"`
}

// IntegrationDeploy is one integration of a deploy (integrations:batch).
type IntegrationDeploy struct {
	Name        string
	Provider    string
	SpecVersion string
	// Content is the integration's manifest text as deployed.
	Content []byte
	// Hash decides whether the deploy changes anything. When empty, the
	// Store uses ContentHash(Content). A caller that wants formatting-only
	// changes to count as "unchanged" passes a hash of a canonical form.
	Hash string
}

// Validate returns an EINVALID error when a required field is missing.
func (d *IntegrationDeploy) Validate() error {
	if err := required("integration name", d.Name); err != nil {
		return err
	}
	if len(d.Name) > 255 {
		return Errorf(EINVALID, "integration name is longer than 255 characters")
	}
	if err := required("integration "+d.Name+": provider", d.Provider); err != nil {
		return err
	}
	if err := required("integration "+d.Name+": specVersion", d.SpecVersion); err != nil {
		return err
	}
	if len(d.Content) == 0 {
		return Errorf(EINVALID, "integration %s: content is required", d.Name)
	}
	return nil
}

// DeployResult tells what a deploy did to one integration.
type DeployResult struct {
	// Integration is the integration after the deploy, with LatestRevision.
	Integration Integration
	// Created is true when the deploy created the integration.
	Created bool
	// Changed is true when the deploy added a revision (always when Created).
	// When false, Integration.LatestRevision is the unchanged revision.
	Changed bool
}
