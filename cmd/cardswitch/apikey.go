package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cardswitch/cardswitch/audit"
	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/switch/payments"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// newAPIKeyCmd is `cardswitch api-key`: the payments API's keys, on the database directly
// (CONTRACT §12). A key is shown once, when created; the database keeps its SHA-256.
func newAPIKeyCmd() *cobra.Command {
	f := &apiKeyFlags{}
	cmd := &cobra.Command{
		Use:   "api-key",
		Short: "Create, list and revoke the payments API's keys",
		Long: `Create, list and revoke the API keys of merchants and agencies for the payments API. The
database is the ledger's: PostgreSQL when --database-url (or CARDSWITCH_DATABASE_URL) is set,
otherwise the embedded store in --data-dir. A new key is printed once and never again.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("api-key: name a subcommand: create, list or revoke")
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.databaseURL, "database-url", os.Getenv("CARDSWITCH_DATABASE_URL"), "PostgreSQL URL (default $CARDSWITCH_DATABASE_URL; empty: the embedded store)")
	pf.StringVar(&f.dataDir, "data-dir", config.DefaultDataDir, "directory of the embedded store")
	pf.BoolVar(&f.json, "json", false, "print JSON")
	pf.StringVar(&f.apiFile, "api-database-file", "", "the API's own SQLite file, when api.database_file sets one")
	cmd.AddCommand(newAPIKeyCreateCmd(f), newAPIKeyListCmd(f), newAPIKeyRevokeCmd(f))
	return cmd
}

// apiKeyFlags are the flags every `cardswitch api-key` subcommand shares.
type apiKeyFlags struct {
	ledgerFlags
	apiFile string
}

func openKeyStore(cmd *cobra.Command, f *apiKeyFlags) (*store.Store, error) {
	if f.dataDir == "" && f.databaseURL == "" {
		return nil, usagef("--data-dir must not be empty")
	}
	return openPaymentsStore(cmd.Context(), config.Ledger{DatabaseURL: f.databaseURL, DataDir: f.dataDir}, f.apiFile)
}

var merchantIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,15}$`)

func newAPIKeyCreateCmd(f *apiKeyFlags) *cobra.Command {
	var merchant, scopes string
	cmd := &cobra.Command{
		Use:   "create --merchant ID [--scopes payments,refunds,card_data]",
		Short: "Create a key for a merchant or agency and print it (once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !merchantIDPattern.MatchString(merchant) {
				return usagef("--merchant %q must be the merchant's id (field 42): 1 to 15 letters or digits", merchant)
			}
			sc, err := parseScopes(scopes)
			if err != nil {
				return err
			}
			s, err := openKeyStore(cmd, f)
			if err != nil {
				return err
			}
			defer s.Close()
			log, err := f.openAudit(cmd.Context()) // before the key exists: no key without its audit entry
			if err != nil {
				return err
			}
			defer log.Close()
			key := payments.NewKey()
			now := time.Now().UTC()
			k := &store.APIKey{ID: payments.NewKeyID(), Merchant: merchant, Hash: payments.HashKey(key),
				Prefix: key[:12], Scopes: sc, CreatedAt: now}
			if err := s.CreateAPIKey(cmd.Context(), k); err != nil {
				return err
			}
			if _, err := log.Record(cmd.Context(), audit.Entry{Actor: audit.ActorCLI(), Action: audit.ActionAPIKeyCreate, Target: k.ID,
				Detail: "merchant " + merchant + ", scopes " + strings.Join(sc, ","), At: now}); err != nil {
				// an unrecorded key must not be used: revoke it, and show nothing
				_ = s.RevokeAPIKey(cmd.Context(), k.ID, time.Now().UTC())
				return fmt.Errorf("api-key create: the key was revoked at once because the audit log refused it: %w", err)
			}
			out := cmd.OutOrStdout()
			if f.json {
				return json.NewEncoder(out).Encode(map[string]any{"id": k.ID, "merchant": merchant, "scopes": sc, "key": key})
			}
			fmt.Fprintf(out, "id:       %s\nmerchant: %s\nscopes:   %s\nkey:      %s\n\nThe key is shown only now: store it as a secret.\n",
				k.ID, merchant, strings.Join(sc, ","), key)
			return nil
		},
	}
	cmd.Flags().StringVar(&merchant, "merchant", "", "the merchant's or agency's id (field 42), e.g. MERCHANT0000001")
	cmd.Flags().StringVar(&scopes, "scopes", "payments,refunds", "comma-separated: payments, refunds, card_data")
	return cmd
}

func parseScopes(s string) ([]string, error) {
	known := map[string]bool{}
	for _, sc := range payments.AllScopes {
		known[sc] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, sc := range strings.Split(s, ",") {
		sc = strings.TrimSpace(sc)
		if !known[sc] {
			return nil, usagef("--scopes: %q is not a scope (payments, refunds, card_data)", sc)
		}
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	return out, nil
}

func newAPIKeyListCmd(f *apiKeyFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the keys (never the keys themselves: their first characters)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openKeyStore(cmd, f)
			if err != nil {
				return err
			}
			defer s.Close()
			keys, err := s.APIKeys(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				type row struct {
					ID        string     `json:"id"`
					Merchant  string     `json:"merchant"`
					Prefix    string     `json:"prefix"`
					Scopes    []string   `json:"scopes"`
					Test      bool       `json:"test"`
					CreatedAt time.Time  `json:"created_at"`
					RevokedAt *time.Time `json:"revoked_at,omitempty"`
				}
				rows := []row{}
				for _, k := range keys {
					r := row{k.ID, k.Merchant, k.Prefix, k.Scopes, k.Test, k.CreatedAt, nil}
					if !k.RevokedAt.IsZero() {
						t := k.RevokedAt
						r.RevokedAt = &t
					}
					rows = append(rows, r)
				}
				return json.NewEncoder(out).Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tMERCHANT\tKEY\tSCOPES\tCREATED\tSTATE")
			for _, k := range keys {
				state := "valid"
				if !k.RevokedAt.IsZero() {
					state = "revoked " + k.RevokedAt.Format(time.RFC3339)
				}
				if k.Test {
					state += " (public test key)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Merchant, k.Prefix, strings.Join(k.Scopes, ","),
					k.CreatedAt.Format(time.RFC3339), state)
			}
			return tw.Flush()
		},
	}
}

func newAPIKeyRevokeCmd(f *apiKeyFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key (a running switch stops accepting it within 10 seconds)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openKeyStore(cmd, f)
			if err != nil {
				return err
			}
			defer s.Close()
			log, err := f.openAudit(cmd.Context())
			if err != nil {
				return err
			}
			defer log.Close()
			err = s.RevokeAPIKey(cmd.Context(), args[0], time.Now().UTC())
			e := audit.Entry{Actor: audit.ActorCLI(), Action: audit.ActionAPIKeyRevoke, Target: args[0]}
			switch {
			case err == store.ErrNotFound:
				e.Result, e.Detail = audit.ResultRefused, "no valid key with this id"
			case err != nil:
				e.Result, e.Detail = audit.ResultFailed, err.Error()
			}
			_, aerr := log.Record(cmd.Context(), e)
			if err == store.ErrNotFound {
				return usagef("api-key revoke: no valid key %q (see cardswitch api-key list)", args[0])
			}
			if err != nil {
				return err
			}
			if aerr != nil {
				return fmt.Errorf("api-key revoke: %s is revoked, but the audit log refused the entry: %w", args[0], aerr)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		},
	}
}
