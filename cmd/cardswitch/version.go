package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; a plain build reports the
// module version and VCS revision that the Go toolchain stamped into the binary.
var version = "dev"

// buildInfo returns the version, the VCS commit ("-dirty" when the tree was modified, "unknown"
// without VCS information) and the Go version of this binary.
func buildInfo() (ver, commit, goVersion string) {
	commit, modified := "unknown", false
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		commit += "-dirty"
	}
	return version, commit, runtime.Version()
}

// registerBuildInfo registers cardswitch_build_info{version,commit,goversion} 1, so that a
// dashboard shows what runs and an alert can tell a restart into another version.
func registerBuildInfo(reg prometheus.Registerer) {
	ver, commit, goVersion := buildInfo()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "cardswitch_build_info",
		Help:        "Always 1; the labels say which build of cardswitch runs.",
		ConstLabels: prometheus.Labels{"version": ver, "commit": commit, "goversion": goVersion}})
	g.Set(1)
	reg.MustRegister(g)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ver, commit, goVersion := buildInfo()
			fmt.Fprintf(cmd.OutOrStdout(), "cardswitch %s\ncommit %s\ngo %s %s/%s\n", ver, commit,
				goVersion, runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
