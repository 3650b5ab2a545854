// Package mapping turns provider records into the result[] entries of an
// Ampersand webhook message, following one installation's mapping of one
// read object, and turns mapped records from the Write API back into
// provider fields.
//
// Compile checks the manifest's read object against the installation's
// config once and returns a Plan: the provider fields to read, the object
// and field renames, the customer's field and value mappings, with every
// field path parsed. A Plan is immutable; Apply and Reverse may be called
// from many goroutines at once.
//
// # What an entry holds
//
//   - fields: the unmapped fields that were read, under the lower-case keys
//     of providers.Record.Fields, plus id. A field asked for as an unmapped
//     field (a fixed field without mapToName, a selected optional field)
//     is there. A field read only to feed a mapping (a fixed field with
//     mapToName, the provider field a customer chose for a customer-mapped
//     field) is not: Ampersand's fields "will only contain unmapped
//     fields". When every field is read (selectedFieldsAuto: all), fields
//     holds every field of the record except those whose whole value feeds
//     a mapping; a nested object of which only a part is mapped stays whole.
//   - mappedFields: mapped name -> value, with the installation's value
//     mappings applied. Present ({} when empty) when the plan maps at least
//     one field, absent otherwise.
//   - raw: the record as the provider sent it, unchanged.
//   - id: the record's id.
//   - deleted: true on a tombstone (amp's extension). A tombstone carries
//     id, raw when the provider sent one, and fields {id} only.
//
// # Field paths
//
// A field name or mapToName may be a path into nested values, in the
// manifest's JSONPath bracket form $['address']['city'] (single or double
// quotes) or the short form address[city] (a[b][c] for deeper paths). A
// segment that is a non-negative integer also indexes a JSON array. The first
// segment names a provider field and is matched without regard to case
// (record keys are lower-case); deeper segments match exactly, else without
// regard to case. A mapToName path builds nested objects in mappedFields.
//
// A mapped value is absent when its provider field is absent from the
// record; when the field is present but the path runs into a missing key,
// null, or a value that is not an object (or array) before its end, the value is
// null, so receivers see every mapped key of a record whose field was read.
//
// # Value mappings
//
// runtime.ReadConfigObject.SelectedValueMappings maps a field to
// {delivered value: provider value}. A mapped field uses the value mapping
// keyed by its mapToName, else the one keyed by its provider field; an
// unmapped field uses the one keyed by its name. Apply inverts it (provider
// value -> delivered value; when several delivered values share a provider
// value, the smallest in byte order is delivered), Reverse applies it as
// written. Only string values are mapped; any other value, and a string
// without a mapping, passes through unchanged.
//
// Rules: it imports manifest, providers (for providers.Record only) and
// runtime. It must not import runtime/sqlite, runtime/api, runtime/engine or
// any provider implementation package.
package mapping
