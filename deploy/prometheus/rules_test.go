// Package prometheus holds the Prometheus rules of cardswitch; its test checks them with promtool
// and against the runbook.
package prometheus

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestAlertsHaveRunbookAndTest checks that every alert links to a section of docs/runbook.md that
// exists and is fired by at least one unit test.
func TestAlertsHaveRunbookAndTest(t *testing.T) {
	var rules ruleFile
	readYAML(t, "cardswitch.rules.yml", &rules)
	var tests ruleTests
	readYAML(t, "cardswitch.rules.test.yml", &tests)
	fired := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fired[a.Alertname] = true
			}
		}
	}
	runbook, err := os.ReadFile("../../docs/runbook.md")
	require.NoError(t, err)
	anchors := map[string]bool{}
	sections := map[string]string{} // anchor → the section's text
	heading := regexp.MustCompile(`(?m)^#{2,3} (.+)$`)
	locs := heading.FindAllStringSubmatchIndex(string(runbook), -1)
	for i, m := range locs {
		a := githubAnchor(string(runbook[m[2]:m[3]]))
		anchors[a] = true
		end := len(runbook)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		sections[a] = string(runbook[m[1]:end])
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			url := r.Annotations["runbook_url"]
			require.True(t, strings.HasPrefix(url, "https://github.com/cardswitch/cardswitch/blob/main/docs/runbook.md#"), "%s: runbook_url %q", r.Alert, url)
			anchor := url[strings.Index(url, "#")+1:]
			require.True(t, anchors[anchor], "%s: docs/runbook.md has no section #%s", r.Alert, anchor)
			for _, part := range []string{"**Means.**", "**Confirm.**", "**Act.**", "**Over when**"} {
				require.Contains(t, sections[anchor], part, "%s: the runbook section says what it means, how to confirm it, what to do and when it is over", r.Alert)
			}
			require.True(t, fired[r.Alert], "%s: no unit test in cardswitch.rules.test.yml fires it", r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
		}
	}
	require.Greater(t, alerts, 10)
}

// TestPromtool runs `promtool check rules` and `promtool test rules` (CI installs promtool).
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	for _, args := range [][]string{{"check", "rules", "cardswitch.rules.yml"}, {"test", "rules", "cardswitch.rules.test.yml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}

// githubAnchor is the fragment GitHub gives a Markdown heading: lower case, spaces to hyphens,
// punctuation other than hyphens and underscores dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}
