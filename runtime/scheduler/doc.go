// Package scheduler turns installations into read operations: it keeps one
// read state per installation and read object (runtime.ReadStateStore),
// queues each object's backfill when an installation starts reading it, and
// queues a scheduled read whenever an object's cron schedule comes due.
// Schedules are spread: every installation and object gets a fixed offset
// within the schedule's interval (up to MaxSpread), so thousands of
// installations on "*/30 * * * *" do not all fire in the same second.
//
// It depends on the runtime interfaces and manifest; it must not import
// runtime/sqlite, runtime/api or runtime/server.
package scheduler
