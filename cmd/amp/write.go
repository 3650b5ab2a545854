package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// maxWriteInput bounds a record or batch read from a file or stdin.
const maxWriteInput = 10 << 20

func newWriteCmd() *cobra.Command {
	var (
		cf                         clientFlags
		group, typ, batchFile, key string
		async, allOrNone           bool
		deadlineHours              int
	)
	cmd := &cobra.Command{
		Use:   "write <integration> <object> [record JSON] --group G --type create|update|upsert|delete",
		Short: "Write records to a customer's CRM through the Write API",
		Long: `Write sends one record, or a batch of up to 100, to the CRM of the group's
installation of an integration, and prints the answer. The record is a JSON
object in the builder's field names (mapped names where the write object
inherits the read mapping); it is the third argument, or stdin when there is
none. --batch names a file (- for stdin) holding a JSON array of records, or
of {"record": {...}} entries.

  amp write crmSync company --group acme --type create '{"name":"Acme","city":"Lyon"}'
  amp write crmSync company --group acme --type update '{"id":"001...","city":"Nice"}'
  amp write crmSync company --group acme --type create --async --batch accounts.json

The exit status is 0 when every record was written (or the asynchronous
write was queued), 1 when the server refused the request or a record failed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 || len(args) > 3 {
				return usageErrorf("%s takes the integration, the object and optionally the record, got %s\nRun '%s --help' for usage.", cmd.CommandPath(), quoteArgs(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if group == "" {
				return usageErrorf("write needs --group: the group whose installation to write to")
			}
			switch typ {
			case "create", "update", "upsert", "delete":
			case "":
				return usageErrorf("write needs --type: create, update, upsert or delete")
			default:
				return usageErrorf("--type %q is not create, update, upsert or delete", typ)
			}
			body := map[string]any{"groupRef": group, "type": typ, "mode": "synchronous"}
			if async {
				body["mode"] = "asynchronous"
				if deadlineHours > 0 {
					body["retryPolicy"] = map[string]any{"deadlineHours": deadlineHours}
				}
			} else if deadlineHours > 0 {
				return usageErrorf("--deadline-hours applies to --async writes")
			}
			switch {
			case batchFile != "" && len(args) == 3:
				return usageErrorf("pass either a record or --batch, not both")
			case batchFile != "":
				recs, err := readBatch(cmd, batchFile)
				if err != nil {
					return err
				}
				body["batch"] = recs
				if allOrNone {
					body["batchPolicy"] = map[string]any{"allOrNone": true}
				}
			default:
				if allOrNone {
					return usageErrorf("--all-or-none applies to --batch")
				}
				var src []byte
				if len(args) == 3 {
					src = []byte(args[2])
				} else {
					b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxWriteInput+1))
					if err != nil {
						return usageErrorf("reading the record from stdin: %v", err)
					}
					src = b
				}
				rec, err := decodeObject(src, "the record")
				if err != nil {
					return err
				}
				body["record"] = rec
			}
			c, err := cf.newClient()
			if err != nil {
				return err
			}
			raw, err := json.Marshal(body)
			if err != nil {
				return err
			}
			var h http.Header
			if key != "" {
				h = http.Header{"Idempotency-Key": {key}}
			}
			path := c.projectPath("integrations", args[0], "objects", args[1])
			ans, err := c.exchange(cmd.Context(), "POST", path, nil, h, raw)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(ans.contentType, "application/json") {
				if ans.status >= 300 {
					return ans.problem("POST", path)
				}
				return &exitError{code: exitFailure, msg: fmt.Sprintf("POST %s: unexpected %s answer", path, ans.contentType)}
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, ans.body, "", "  "); err != nil {
				return &exitError{code: exitFailure, msg: fmt.Sprintf("POST %s: unexpected answer: %v", path, err)}
			}
			fmt.Fprint(cmd.OutOrStdout(), pretty.String())
			if ans.status >= 300 {
				return &exitError{code: exitFailure, msg: failedSummary(ans.body)}
			}
			var counts struct{ FailureCount int }
			if json.Unmarshal(ans.body, &counts) == nil && counts.FailureCount > 0 {
				return &exitError{code: exitFailure, msg: failedSummary(ans.body)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&group, "group", "", "the group (groupRef) whose installation to write to (required)")
	fl.StringVar(&typ, "type", "", "create, update, upsert (by the manifest's upsertKey) or delete (required)")
	fl.BoolVar(&async, "async", false, "write asynchronously: print the operation's ID and return")
	fl.IntVar(&deadlineHours, "deadline-hours", 0, "how long an --async write keeps retrying (1 to 48; default 1)")
	fl.StringVar(&batchFile, "batch", "", "a file (- for stdin) with a JSON array of up to 100 records")
	fl.BoolVar(&allOrNone, "all-or-none", false, "with --batch: write every record or none (where the provider can roll back)")
	fl.StringVar(&key, "idempotency-key", "", "send Idempotency-Key: the same key and request again gets the first answer and writes nothing")
	addClientFlags(cmd, &cf)
	return cmd
}

// readBatch reads a JSON array of records (objects, or {"record": ...}
// entries) from the file or stdin.
func readBatch(cmd *cobra.Command, file string) ([]any, error) {
	var src []byte
	var err error
	if file == "-" {
		src, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxWriteInput+1))
	} else {
		var f *os.File
		if f, err = os.Open(file); err == nil {
			src, err = io.ReadAll(io.LimitReader(f, maxWriteInput+1))
			f.Close()
		}
	}
	if err != nil {
		return nil, usageErrorf("reading --batch: %v", err)
	}
	if len(src) > maxWriteInput {
		return nil, usageErrorf("--batch is larger than %d MiB", maxWriteInput>>20)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(src, &list); err != nil {
		return nil, usageErrorf("--batch must hold a JSON array of records: %v", err)
	}
	out := make([]any, len(list))
	for i, raw := range list {
		rec, err := decodeObject(raw, fmt.Sprintf("--batch record %d", i))
		if err != nil {
			return nil, err
		}
		if isBatchEntry(rec) {
			out[i] = rec
			continue
		}
		out[i] = map[string]any{"record": rec}
	}
	return out, nil
}

// isBatchEntry reports whether m is already a batch entry: a record
// object under "record", and perhaps associations, nothing else.
func isBatchEntry(m map[string]any) bool {
	if _, ok := m["record"].(map[string]any); !ok {
		return false
	}
	for k := range m {
		if k != "record" && k != "associations" {
			return false
		}
	}
	return true
}

// decodeObject decodes a JSON object, keeping numbers exact.
func decodeObject(src []byte, what string) (map[string]any, error) {
	if len(src) > maxWriteInput {
		return nil, usageErrorf("%s is larger than %d MiB", what, maxWriteInput>>20)
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, usageErrorf("%s must be a JSON object, as '{\"name\":\"Acme\"}'", what)
	}
	return m, nil
}

// failedSummary says how many records failed, for the exit message.
func failedSummary(body []byte) string {
	var a struct {
		SuccessCount, FailureCount int
		Result                     *struct{ Success bool }
		Errors                     []struct{ Message string }
	}
	if json.Unmarshal(body, &a) != nil {
		return "the write failed"
	}
	if a.Result != nil {
		msg := "the record was not written"
		if len(a.Errors) > 0 {
			msg += ": " + a.Errors[0].Message
		}
		return msg
	}
	return fmt.Sprintf("%d of %d records failed", a.FailureCount, a.FailureCount+a.SuccessCount)
}
