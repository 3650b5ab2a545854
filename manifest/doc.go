// Package manifest is amp's model of amp.yaml: its types, Load (from a file
// or folder, keeping the line and column of every key and value), Validate
// (the embedded JSON Schema plus every semantic rule, returning all findings
// at once), Diff (the semantic change between two manifests), Scopes (the
// minimal OAuth scopes a manifest needs) and Init (a starter manifest).
//
// It is pure: no network and no database. It may import providers for the
// catalog, never runtime.
package manifest
