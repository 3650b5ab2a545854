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
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", commandPath(root, args))
	}
	return exitUsage
}

func commandPath(root *cobra.Command, args []string) string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return root.CommandPath()
	}
	return cmd.CommandPath()
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
		newFakeCmd(),
		newServeCmd(),
		newDemoCmd(),
		newDeployCmd(),
		newProviderAppCmd(),
		newDestinationCmd(),
		newIntegrationsCmd(),
		newInstallationsCmd(),
		newConnectionsCmd(),
		newWriteCmd(),
		newVersionCmd(),
	)
	return root
}

// maxArgs is cobra.MaximumNArgs with an exit-2 error that says what to pass.
func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) <= n:
			return nil
		case n == 0:
			return usageErrorf("%s takes no arguments, got %s\nRun '%s --help' for usage.", cmd.CommandPath(), quoteArgs(args), cmd.CommandPath())
		}
		return usageErrorf("%s takes at most %d argument (%s), got %d: %s\nRun '%s --help' for usage.", cmd.CommandPath(), n, what, len(args), quoteArgs(args), cmd.CommandPath())
	}
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// subcommandsOnly makes a command that only groups subcommands refuse an
// unknown subcommand (exit 2) instead of printing its help and exiting 0.
func subcommandsOnly(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	names := []string{}
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q (want %s)", args[0], cmd.CommandPath(), strings.Join(names, " or "))
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return usageErrorf("%s", msg)
}
