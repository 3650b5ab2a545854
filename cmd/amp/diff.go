package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ampforge/amp/manifest"
)

type diffArgs struct {
	format         string
	gitRef         string
	failOnBreaking bool
}

func newDiffCmd() *cobra.Command {
	var a diffArgs
	cmd := &cobra.Command{
		Use:   "diff OLD NEW | diff --git REF [PATH]",
		Short: "Show the semantic change between two manifests, for code review",
		Long: `Diff compares two manifests by meaning, not by text: integrations, objects and
fields added or removed, schedule, backfill and mapping changes, and the change in
required OAuth scopes. Changes that affect live installations are marked breaking:
a removed object or required field, a new required customer-mapped field, or a
new scope that makes every connected customer re-consent.

With --git REF it compares the manifest at PATH (default: the current folder) in
the working tree against the same file at the git revision REF.
--format markdown prints a pull-request comment.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd, a, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&a.format, "format", "o", "text", "output format: text, markdown or json")
	f.StringVar(&a.gitRef, "git", "", "compare against the manifest at this git revision")
	f.BoolVar(&a.failOnBreaking, "fail-on-breaking", false, "exit 1 when any change is breaking")
	return cmd
}

func runDiff(cmd *cobra.Command, a diffArgs, args []string) error {
	if !slices.Contains(manifest.DiffFormats, a.format) {
		return usageErrorf("unknown --format %q (want %s)", a.format, strings.Join(manifest.DiffFormats, ", "))
	}
	var (
		oldM, newM       *manifest.Manifest
		oldName, newName string
		err              error
	)
	if a.gitRef != "" {
		if len(args) > 1 {
			return usageErrorf("diff --git takes at most one PATH, got %d: %s", len(args), quoteArgs(args))
		}
		path := "."
		if len(args) == 1 {
			path = args[0]
		}
		if newM, err = loadForCommand(cmd, path); err != nil {
			return err
		}
		file, err := manifest.Resolve(path)
		if err != nil {
			return usageErrorf("%v", err)
		}
		newName = file
		oldName = a.gitRef + ":" + filepath.ToSlash(file)
		src, found, err := gitShow(cmd.Context(), a.gitRef, file)
		if err != nil {
			return usageErrorf("%v", err)
		}
		oldM = &manifest.Manifest{}
		if found {
			f, diags := manifest.Parse(oldName, src)
			if f == nil {
				_ = manifest.WriteDiagnostics(cmd.ErrOrStderr(), manifest.FormatText, diags, nil)
				return failed()
			}
			oldM = f.Manifest
		}
	} else {
		if len(args) != 2 {
			return usageErrorf("diff needs OLD and NEW manifests (or --git REF [PATH]), got %s\nRun 'amp diff --help' for usage.", plural(len(args), "argument"))
		}
		if oldM, err = loadForCommand(cmd, args[0]); err != nil {
			return err
		}
		if newM, err = loadForCommand(cmd, args[1]); err != nil {
			return err
		}
		oldName, newName = args[0], args[1]
	}
	changes := manifest.Diff(oldM, newM, nil)
	if err := manifest.WriteDiff(cmd.OutOrStdout(), a.format, oldName, newName, changes); err != nil {
		return err
	}
	if a.failOnBreaking && slices.ContainsFunc(changes, func(c manifest.Change) bool { return c.Breaking }) {
		return failed()
	}
	return nil
}

// gitShow returns the content of file at revision ref. found is false when
// the file did not exist at ref (the manifest is new), which is not an error.
// It decides that from git's exit status, never from its (translated)
// messages.
func gitShow(ctx context.Context, ref, file string) (src []byte, found bool, err error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, false, err
	}
	dir, base := filepath.Dir(abs), filepath.Base(abs)
	git := func(args ...string) ([]byte, string, error) {
		c := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		c.Env = append(os.Environ(), "LC_ALL=C", "LANGUAGE=")
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		return stdout.Bytes(), strings.TrimSpace(stderr.String()), err
	}
	if _, msg, err := git("rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		if msg == "" {
			msg = fmt.Sprintf("%q is not a commit in this repository", ref)
		}
		return nil, false, fmt.Errorf("git: %s", msg)
	}
	// "REV:./path" is resolved relative to the working directory (-C).
	spec := ref + ":./" + base
	if _, _, err := git("cat-file", "-e", spec); err != nil {
		return nil, false, nil
	}
	out, msg, err := git("show", spec)
	if err != nil {
		if msg == "" {
			msg = err.Error()
		}
		return nil, false, fmt.Errorf("git show %s:%s failed: %s", ref, file, msg)
	}
	return out, true, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
