package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// usageError marks a bad flag, argument or configuration value: the process exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef builds a usageError with a one-line message naming the problem.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// isFlagError reports whether cobra rejected the command line itself (unknown flag, bad value,
// wrong argument count, unknown command).
func isFlagError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "invalid argument", "flag needs an argument",
		"unknown command", "accepts ", "requires at least", "requires at most", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "cardswitch",
		Short:         "A card-acquiring payment switch: ISO 8583 in, issuers out, every cent in a double-entry ledger",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newVersionCmd(),
		newHSMCmd(),
		newLoadCmd(),
		newDemoCmd(),
		newIssuerSimCmd(),
		newServeCmd(),
		newLedgerCmd(),
		newAuditCmd(),
		newISOCmd(),
		newAPIKeyCmd(),
		newSAFCmd(),
		newReloadCmd(),
	)
	return root
}
