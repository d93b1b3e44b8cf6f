package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/cardswitch/cardswitch/audit"
	"github.com/cardswitch/cardswitch/config"
)

// newReloadCmd is `cardswitch reload`: make a running serve re-read its configuration (CONTRACT §1).
func newReloadCmd() *cobra.Command {
	var (
		configPath, httpAddr string
		timeout              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "reload [--config FILE] [--http ADDR]",
		Short: "Make a running serve re-read its configuration file (same as SIGHUP)",
		Long: `Make a running ` + "`cardswitch serve`" + ` re-read the configuration file it was started with and apply
it: merchants, terminals and their keys, issuers and their routes, the store-and-forward settings
and log.level change without dropping a connection; a file that is invalid or changes what needs a
restart is refused with the reason, and the running configuration stays.

It asks the switch's operators' listener (POST /v1/reload): the address is --http, or http.listen
of --config (the file the switch runs with), or 127.0.0.1:8080. The admin token is
CARDSWITCH_ADMIN_TOKEN, or http.token_file of --config. Exit status: 0 applied, 2 refused (or a
bad flag), 1 no switch answered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, token, err := reloadTarget(configPath, httpAddr)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			changes, err := postReload(ctx, addr, token)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(changes) == 0 {
				fmt.Fprintln(out, "configuration reloaded: nothing changed")
				return nil
			}
			fmt.Fprintln(out, "configuration reloaded:")
			for _, c := range changes {
				fmt.Fprintln(out, "  "+c)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&configPath, "config", "", "the switch's configuration file, to find its operators' listener and admin token")
	fl.StringVar(&httpAddr, "http", "", "the switch's operators' listener, host:port (default: http.listen of --config, or 127.0.0.1:8080)")
	fl.DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for the switch's answer")
	return cmd
}

// reloadTarget finds the operators' listener and the admin token. The file is read only for its
// http section: a reload is often asked for a file that the switch will refuse.
func reloadTarget(configPath, httpAddr string) (addr, token string, err error) {
	listen, tokenFile := config.DefaultHTTPListen, ""
	if configPath != "" {
		b, err := os.ReadFile(configPath)
		if err != nil {
			return "", "", usagef("--config: %v", err)
		}
		var f struct {
			HTTP struct {
				Listen    string `yaml:"listen"`
				TokenFile string `yaml:"token_file"`
			} `yaml:"http"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			return "", "", usagef("--config %s: cannot read its http section (%v): name the listener with --http", configPath, oneLine(err))
		}
		if f.HTTP.Listen != "" {
			listen = f.HTTP.Listen
		}
		tokenFile = f.HTTP.TokenFile
	}
	if httpAddr != "" {
		listen = httpAddr
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", "", usagef("--http %q must be host:port", listen)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // a listener on every address answers on loopback
	}
	token = strings.TrimSpace(os.Getenv("CARDSWITCH_ADMIN_TOKEN"))
	if token == "" && tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", "", usagef("http.token_file: %v", err)
		}
		token = strings.TrimSpace(string(b))
	}
	return net.JoinHostPort(host, port), token, nil
}

// postReload asks the switch at addr to reload and returns what changed. A refused file is a
// usage error (exit 2) carrying the switch's reason.
func postReload(ctx context.Context, addr, token string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/reload", nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set(audit.ActorHeader, audit.ActorCLI())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("no switch answered on %s: %w", addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var answer struct {
		Changes []string `json:"changes"`
		Error   string   `json:"error"`
	}
	json.NewDecoder(bytes.NewReader(body)).Decode(&answer)
	switch resp.StatusCode {
	case http.StatusOK:
		return answer.Changes, nil
	case http.StatusUnprocessableEntity:
		return nil, usagef("the switch refused the configuration (it keeps running the previous one): %s", answer.Error)
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("the switch on %s refused the admin token (CARDSWITCH_ADMIN_TOKEN or http.token_file)", addr)
	case http.StatusNotFound:
		return nil, fmt.Errorf("the process on %s does not reload (not a cardswitch serve?)", addr)
	}
	return nil, fmt.Errorf("the switch on %s answered %s: %s", addr, resp.Status, oneLine(fmt.Errorf("%s", bytes.TrimSpace(body))))
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
