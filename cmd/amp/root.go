package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	_ "github.com/ampforge/amp/providers/all" // every built-in provider
)

// Exit codes shared by every command.
const (
	exitOK      = 0 // success; for validate, no errors
	exitFailure = 1 // the command ran and found problems (validation errors, breaking changes with --fail-on-breaking)
	exitUsage   = 2 // bad flags or arguments, or unreadable input
)

// exitError carries an exit code through cobra. Its message, when not
// empty, is printed to stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// failed returns an error that exits with code 1 and prints nothing more.
func failed() error { return &exitError{code: exitFailure} }

// Main runs the amp command line with args and returns the exit code. It is
// the whole program; main only wires the process to it, so tests can run
// the real command tree in-process.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(stderr, "amp: %s\n", ee.msg)
		}
		return ee.code
	}
	// Anything cobra returns itself is a usage problem: an unknown command
	// or flag, or a wrong number of arguments.
	fmt.Fprintf(stderr, "amp: %s\n", err)
	if !strings.Contains(err.Error(), "--help") {
		fmt.Fprintf(stderr, "Run 'amp %s --help' for usage.\n", commandPath(root, args))
	}
	return exitUsage
}

func commandPath(root *cobra.Command, args []string) string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == root {
		return ""
	}
	return strings.TrimPrefix(cmd.CommandPath(), "amp ")
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "amp",
		Short: "Integration-as-code for customer-facing CRM integrations",
		Long: `amp declares customer-facing CRM integrations (Salesforce, HubSpot, Dynamics 365)
in a version-controlled amp.yaml, checks them in CI, reviews them in pull requests
and ships them.

  amp init --provider salesforce --objects account,contact   write a starter amp.yaml
  amp validate                                               check it (CI)
  amp diff --git origin/main                                 review the change (PR)
  amp scopes                                                 the OAuth scopes it needs`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v\nRun '%s --help' for usage.", err, c.CommandPath())
	})
	root.AddCommand(
		newValidateCmd(),
		newDiffCmd(),
		newScopesCmd(),
		newInitCmd(),
		newProvidersCmd(),
		newVersionCmd(),
	)
	return root
}

// exactArgs is cobra.ExactArgs with an exit-2 error that says what to pass.
func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageErrorf("%s takes at most %d argument(s) (%s), got %d\nRun '%s --help' for usage.", cmd.CommandPath(), n, what, len(args), cmd.CommandPath())
		}
		return nil
	}
}
