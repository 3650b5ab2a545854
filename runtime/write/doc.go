// Package write serves the Write API: POST
// .../integrations/{integrationId}/objects/{objectName} with a body whose
// "type" is create, update, upsert or delete.
//
// A request is decoded strictly and checked against the group's
// installation before anything is written: the write object of the
// integration's revision (by its name, or by the read object's mapToName
// when the write object inherits the read mapping), the installation's
// write config of it (deletes only where deletionSettings.enabled), the
// read mapping in reverse (the builder's mapped names become the
// customer's provider fields), the installation's field settings (defaults,
// writeOnCreate, writeOnUpdate) and the customer's schema (unknown and
// read-only fields, values of the wrong type). Every refused input is named
// in the answer's problem+json issues, as batch[3].record.email.
//
// Synchronous writes run in the request, in chunks of the provider's batch
// size, and answer with Ampersand's WriteResponse shapes plus an errors
// array per record (amp's extension: the provider's message and code and a
// classified reason). Asynchronous writes become operations of action type
// write whose checkpoint holds the mapped records and the results so far;
// the engine claims them and calls Service.RunWrite, which retries rate
// limits and outages with back-off until the request's deadline, then
// reports every record not written as failed and sends write.async.done.
//
// Records written are remembered as echoes (runtime.WriteStateStore) so the
// next incremental read does not deliver them back to the builder, and an
// Idempotency-Key header makes a repeated request answer what the first one
// did instead of writing again.
//
// Asynchronous single-record writes with autoBatchPolicy wait to be
// coalesced into one provider call (see autobatch.go for how, on operation
// rows and idempotency records).
//
// Extensions and limits: asynchronous deletes and batches of deletes are
// amp's extension (Ampersand's Write API deletes one record
// synchronously). The operationId of a synchronous write is a fresh ID
// for correlation only: synchronous writes are not stored as operations.
// A create whose request failed after the provider may have applied it
// (a lost or broken answer, a bulk job that failed once started) is not
// retried: its records fail with reason unknown, since a retry could
// create them twice. A queued asynchronous write is checked against the
// installation again on every try, and fails when the installation no
// longer allows it.
//
// Rules: it imports runtime, runtime/mapping, runtime/delivery,
// runtime/engine (revision decoding only), manifest and providers. It must
// not import runtime/sqlite, runtime/api or runtime/server: the server
// wires it to the API and the engine.
package write
