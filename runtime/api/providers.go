package api

import (
	"net/http"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
)

// providerInfo is Ampersand's catalog ProviderInfo, filled from amp's
// catalog entry where amp has the data.
type providerInfo struct {
	Name          string                `json:"name"`
	DisplayName   string                `json:"displayName"`
	AuthType      string                `json:"authType"`
	BaseURL       string                `json:"baseURL"`
	DefaultModule string                `json:"defaultModule"`
	OAuth2Opts    oauth2Opts            `json:"oauth2Opts"`
	Support       supportJSON           `json:"support"`
	Modules       map[string]moduleInfo `json:"modules,omitempty"`
	Metadata      *providerMetadata     `json:"metadata,omitempty"`
}

type oauth2Opts struct {
	GrantType                 string         `json:"grantType"`
	AuthURL                   string         `json:"authURL"`
	TokenURL                  string         `json:"tokenURL"`
	ExplicitScopesRequired    bool           `json:"explicitScopesRequired"`
	ExplicitWorkspaceRequired bool           `json:"explicitWorkspaceRequired"`
	TokenMetadataFields       map[string]any `json:"tokenMetadataFields"`
}

type supportJSON struct {
	Read      bool `json:"read"`
	Write     bool `json:"write"`
	Delete    bool `json:"delete"`
	Subscribe bool `json:"subscribe"`
	Proxy     bool `json:"proxy"`
	BulkWrite struct {
		Insert bool `json:"insert"`
		Update bool `json:"update"`
		Upsert bool `json:"upsert"`
		Delete bool `json:"delete"`
	} `json:"bulkWrite"`
	Search struct {
		Operators struct {
			Equals bool `json:"equals"`
		} `json:"operators"`
	} `json:"search"`
}

type moduleInfo struct {
	DisplayName string      `json:"displayName"`
	BaseURL     string      `json:"baseURL"`
	Support     supportJSON `json:"support"`
}

type providerMetadata struct {
	Input []metadataInput `json:"input"`
}

type metadataInput struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Prompt      string `json:"prompt,omitempty"`
}

func toSupport(s providers.Support) supportJSON {
	out := supportJSON{Read: s.Read, Write: s.Write, Delete: s.Delete, Subscribe: s.Subscribe, Proxy: s.Proxy}
	if s.BulkWrite {
		out.BulkWrite.Insert, out.BulkWrite.Update, out.BulkWrite.Upsert, out.BulkWrite.Delete = true, true, true, s.Delete
	}
	return out
}

func toProviderInfo(s *providers.Spec) providerInfo {
	grant := "authorizationCode"
	if s.OAuth.PKCE {
		grant = "authorizationCodePKCE"
	}
	out := providerInfo{
		Name: s.Name, DisplayName: s.DisplayName, AuthType: "oauth2", DefaultModule: s.DefaultModule,
		OAuth2Opts: oauth2Opts{GrantType: grant, AuthURL: s.OAuth.AuthURL, TokenURL: s.OAuth.TokenURL,
			ExplicitScopesRequired: true, TokenMetadataFields: map[string]any{}},
		Support: toSupport(s.Support),
	}
	if len(s.Modules) > 0 {
		out.Modules = map[string]moduleInfo{}
		for _, m := range s.Modules {
			out.Modules[m.ID] = moduleInfo{DisplayName: m.DisplayName, Support: toSupport(s.ModuleSupport(m.ID))}
		}
	}
	// Only required inputs are listed: @amp-labs/react asks the customer,
	// after connecting, for every listed input the connection lacks, and
	// an optional one (Salesforce's login host) has its default. Optional
	// inputs are still accepted in oauth-connect's providerMetadata.
	for _, in := range s.OAuth.Inputs {
		if in.Optional {
			continue
		}
		if out.Metadata == nil {
			out.Metadata = &providerMetadata{}
		}
		out.Metadata.Input = append(out.Metadata.Input, metadataInput{Name: in.Name, DisplayName: in.DisplayName, Prompt: in.Prompt})
		out.OAuth2Opts.ExplicitWorkspaceRequired = true
	}
	return out
}

func (a *API) listProviders(w http.ResponseWriter, r *http.Request) error {
	out := map[string]providerInfo{}
	for _, n := range a.registry.Names() {
		if s, ok := a.registry.Spec(n); ok {
			out[n] = toProviderInfo(s)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getProvider(w http.ResponseWriter, r *http.Request) error {
	s, ok := a.registry.Spec(r.PathValue("provider"))
	if !ok {
		return runtime.Errorf(runtime.ENOTFOUND, "provider %q is not in the catalog", r.PathValue("provider"))
	}
	writeJSON(w, http.StatusOK, toProviderInfo(s))
	return nil
}
