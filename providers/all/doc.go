// Package all registers every built-in provider. A binary imports it for its
// side effects,
//
//	import _ "github.com/ampforge/amp/providers/all"
//
// to fill providers.Default with Salesforce, HubSpot and Dynamics 365; a
// binary or test that wants fewer providers imports the provider packages it
// needs instead.
package all
