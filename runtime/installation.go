package runtime

import "time"

// Installation is one customer's (group's) setup of an integration: which
// connection it uses and its config (selected objects, fields and mappings).
// A group has at most one installation per integration.
type Installation struct {
	ID            string `json:"id"`
	ProjectID     string `json:"projectId"`
	IntegrationID string `json:"integrationId"`
	// GroupRef is the builder's ID for the customer; GroupName its display
	// name (Ampersand's group).
	GroupRef  string `json:"-"`
	GroupName string `json:"-"`
	// ConnectionID names a connection of the same project, provider and
	// group.
	ConnectionID string `json:"-"`
	// CreatedBy is "consumer:<consumerRef>" or "builder:<id>".
	CreatedBy  string             `json:"createdBy"`
	Config     InstallationConfig `json:"config"`
	CreateTime time.Time          `json:"createTime"`
	// UpdateTime is when the config last changed.
	UpdateTime time.Time `json:"updateTime,omitzero"`
}

// InstallationConfig is an installation's current config (Ampersand's
// Config).
type InstallationConfig struct {
	// ID changes whenever the config is replaced. A Store fills in an
	// empty ID.
	ID string `json:"id"`
	// RevisionID is the revision that was current when the config was
	// created or last updated; it belongs to the installation's integration.
	// CreateInstallation fills in the integration's latest revision when it
	// is empty.
	RevisionID string `json:"revisionId"`
	// CreateTime is when this config was written; a Store sets it.
	CreateTime time.Time     `json:"createTime"`
	CreatedBy  string        `json:"createdBy"`
	Content    ConfigContent `json:"content"`
}

// Validate returns an EINVALID error when a required field is missing.
func (in *Installation) Validate() error {
	if err := required("installation projectId", in.ProjectID); err != nil {
		return err
	}
	if err := required("installation integrationId", in.IntegrationID); err != nil {
		return err
	}
	if err := required("installation groupRef", in.GroupRef); err != nil {
		return err
	}
	if err := required("installation connectionId", in.ConnectionID); err != nil {
		return err
	}
	return in.Config.Content.Validate()
}

// InstallationFilter selects installations of a project; empty fields match
// everything.
type InstallationFilter struct {
	IntegrationID string
	GroupRef      string
	ConnectionID  string
}

// InstallationUpdate is what UpdateInstallation writes. The caller applies the
// request's update mask to the current installation and passes the full
// result: the Store replaces the config as a whole.
type InstallationUpdate struct {
	// ConnectionID, when not empty, moves the installation to another
	// connection of the same provider and group.
	ConnectionID string
	// GroupName, when not nil, replaces the group's display name.
	GroupName *string
	// Config replaces the config. Config.ID, when empty, gets a new ID;
	// Config.RevisionID, when empty, keeps the current revision;
	// Config.CreatedBy, when empty, keeps the current one;
	// Config.CreateTime is set by the Store.
	Config InstallationConfig
}
