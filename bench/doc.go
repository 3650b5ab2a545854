// Command bench measures amp against each provider's ceiling and against
// the client libraries developers use: `go run ./bench` (or `make bench`).
//
// Every scenario runs three processes: the provider's fake, the runtime
// (server, engine, SQLite, delivery to an in-process counting receiver),
// and this program, which starts both by re-executing itself, reads their
// results and prints the table. The runtime has a process of its own so
// its peak RSS (VmHWM) is the runtime's alone: not the fake's data, not an
// earlier scenario's heap. The fake reports how many requests it refused
// with 429 and when.
//
// BENCHMARKS.md explains how to read and reproduce the numbers.
package main
