package runtime

import "time"

// Project is a builder's tenant: everything else (provider apps,
// integrations, connections, installations, destinations, API keys) belongs
// to exactly one project. Ampersand's API addresses a project by ID or by
// name ({projectIdOrName}).
type Project struct {
	ID string `json:"id"`
	// Name is unique across the server: letters, digits, '-', '_' and '.',
	// starting with a letter or digit, at most 63 characters, so that it
	// can stand for the ID in URLs and on the command line.
	Name string `json:"name"`
	// AppName is the builder's application name, shown to customers during
	// the connection flow ("MailMonkey reads the following fields").
	AppName    string    `json:"appName"`
	CreateTime time.Time `json:"createTime"`
	UpdateTime time.Time `json:"updateTime,omitzero"`
}

// Validate returns an EINVALID error when a required field is missing or
// malformed. A Store calls it before every write.
func (p *Project) Validate() error {
	if err := validName("project name", p.Name); err != nil {
		return err
	}
	if p.AppName == "" {
		return Errorf(EINVALID, "project appName is required")
	}
	return nil
}

// ProjectUpdate holds the fields UpdateProject may change; a nil field is
// left as it is.
type ProjectUpdate struct {
	Name    *string
	AppName *string
}
