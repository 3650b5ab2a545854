package manifest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ampforge/amp/providers"
)

// InitOptions describe the starter manifest Init writes.
type InitOptions struct {
	Provider string
	Module   string
	// Objects are provider object names; each is read and, where the
	// provider allows it, written back.
	Objects []string
	// Name is the integration name; default "<provider>Sync".
	Name string
	// Destination is the project destination for reads; default "defaultWebhook".
	Destination string
	Registry    *providers.Registry
}

// starterFieldNames are the fields a starter manifest requires when the
// object has them: what a human would call the record by.
var starterFieldNames = []string{"name", "firstname", "lastname", "fullname", "email", "emailaddress1", "dealname", "subject", "title", "hs_name"}

// Init returns the text of a valid starter manifest for a provider and
// objects taken from the catalog: each object is read every 30 minutes with
// a 30-day backfill, its naming fields required and every other field
// offered, and written back with the read mapping.
func Init(opts InitOptions) ([]byte, error) {
	reg := opts.Registry
	if reg == nil {
		reg = providers.Default
	}
	spec, ok := reg.Spec(opts.Provider)
	if !ok {
		msg := fmt.Sprintf("unknown provider %q; amp supports %s", opts.Provider, strings.Join(reg.Names(), ", "))
		if s := didYouMean(opts.Provider, reg.Names()); s != "" {
			msg += " (" + s + ")"
		}
		return nil, fmt.Errorf("%s", msg)
	}
	if opts.Module != "" {
		if _, ok := spec.Module(opts.Module); !ok {
			return nil, fmt.Errorf("%s has no module %q", spec.DisplayName, opts.Module)
		}
	}
	if len(opts.Objects) == 0 {
		return nil, fmt.Errorf("name at least one object with --objects, e.g. --objects %s", strings.Join(objectNames(spec.ObjectsIn(opts.Module))[:min(2, len(spec.ObjectsIn(opts.Module)))], ","))
	}
	name := opts.Name
	if name == "" {
		name = opts.Provider + "Sync"
	}
	dest := opts.Destination
	if dest == "" {
		dest = "defaultWebhook"
	}
	module := spec.ResolveModule(opts.Module)
	support := spec.ModuleSupport(module)

	var b strings.Builder
	b.WriteString("# yaml-language-server: $schema=https://raw.githubusercontent.com/ampforge/amp/main/schemas/manifest.schema.json\n")
	b.WriteString("# Starter manifest written by `amp init`. Check it with `amp validate`, review\n# the scopes it needs with `amp scopes`, and ship it with `amp deploy`.\n")
	b.WriteString("specVersion: 1.0.0\nintegrations:\n")
	fmt.Fprintf(&b, "  - name: %s\n    displayName: %s\n    provider: %s\n", name, spec.DisplayName, spec.Name)
	if opts.Module != "" {
		fmt.Fprintf(&b, "    module: %s\n", opts.Module)
	}
	var writable []string
	if support.Read {
		b.WriteString("    read:\n      objects:\n")
	}
	for _, raw := range opts.Objects {
		objName := strings.TrimSpace(raw)
		if objName == "" {
			continue
		}
		obj, ok := spec.Object(module, objName)
		if suggestion := didYouMean(objName, objectNames(spec.ObjectsIn(module))); !ok && !customObject(spec, objName, suggestion) {
			msg := fmt.Sprintf("%q is not a %s object", objName, spec.DisplayName)
			if suggestion != "" {
				msg += " (" + suggestion + ")"
			}
			return nil, fmt.Errorf("%s", msg)
		}
		if ok {
			objName = obj.Name
		}
		if support.Write && (obj == nil || !obj.ReadOnly) {
			writable = append(writable, objName)
		}
		if !support.Read {
			continue
		}
		fmt.Fprintf(&b, "        - objectName: %s\n          destination: %s\n          schedule: \"*/30 * * * *\"\n", objName, dest)
		var required []string
		if obj != nil {
			for _, fn := range starterFieldNames {
				if f, ok := obj.Field(fn); ok && !slices.Contains(required, f.Name) {
					required = append(required, f.Name)
				}
			}
		}
		if len(required) > 0 {
			b.WriteString("          requiredFields:\n")
			for _, f := range required {
				fmt.Fprintf(&b, "            - fieldName: %s\n", f)
			}
		}
		b.WriteString("          optionalFieldsAuto: all\n          backfill:\n            defaultPeriod:\n              days: 30\n")
	}
	if len(writable) > 0 {
		b.WriteString("    write:\n      objects:\n")
		for _, o := range writable {
			fmt.Fprintf(&b, "        - objectName: %s\n", o)
			if support.Read {
				b.WriteString("          inheritMapping: true\n")
			}
		}
	}
	if !support.Read && len(writable) == 0 {
		b.WriteString("    proxy:\n      enabled: true\n")
	}
	return []byte(b.String()), nil
}
