// Package sqlite implements runtime.Store on an SQLite file with
// modernc.org/sqlite (pure Go, no cgo): the embedded default of amp serve,
// one node, nothing else to install.
//
// Open applies the embedded migrations (migrations/*.sql) and returns a Store
// with two connection pools: one writer connection that runs every write, and
// a small pool of read-only connections for reads. The comment on Open says
// why.
//
// It imports runtime and the SQLite driver, never another runtime package,
// manifest or providers. Only runtime/server and tests construct it.
package sqlite
