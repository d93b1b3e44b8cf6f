package main

import (
	"github.com/spf13/cobra"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/simulator/load"
	"github.com/cardswitch/cardswitch/simulator/testkeys"
)

// loadKeys are the load generator's key flags: PIN blocks and MACs from the terminals.
type loadKeys struct {
	file, lmk, tpk, tak, pin string
	pinShare                 int
	mac                      bool
}

func (k *loadKeys) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&k.file, "keys", "", "keys file with the terminals' TPK and TAK (go run ./scripts/testkeys)")
	fl.StringVar(&k.lmk, "lmk", "", `LMK the keys are under: "test" or an LMK file (default: the keys file's, else test)`)
	fl.StringVar(&k.tpk, "tpk", "", "terminal PIN key, a cryptogram under the LMK (instead of the keys file's)")
	fl.StringVar(&k.tak, "tak", "", "terminal MAC key, a cryptogram under the LMK (instead of the keys file's)")
	fl.IntVar(&k.pinShare, "pin-share", 0, "percentage of purchases and pre-authorizations sent with a PIN block (ISO format 0 under the TPK)")
	fl.StringVar(&k.pin, "pin", load.DefaultPIN, "the cardholders' PIN")
	fl.BoolVar(&k.mac, "mac", false, "MAC every request with the TAK (field 64, or 128 with a secondary bitmap)")
}

// keys builds the run's keys; nil when neither PINs nor MACs are asked for.
func (k *loadKeys) keys() (*load.Keys, error) {
	if k.pinShare == 0 && !k.mac {
		return nil, nil
	}
	if k.pinShare < 0 || k.pinShare > 100 {
		return nil, usagef("--pin-share %d must be 0..100", k.pinShare)
	}
	set := testkeys.Set{LMK: "test"}
	if k.file != "" {
		var err error
		if set, err = testkeys.ReadFile(k.file); err != nil {
			return nil, usagef("--keys: %v", err)
		}
	}
	if k.lmk != "" {
		set.LMK = k.lmk
	}
	if k.tpk != "" {
		set.TPK = hsm.Key{Cryptogram: k.tpk}
	}
	if k.tak != "" {
		set.TAK = hsm.Key{Cryptogram: k.tak}
	}
	switch {
	case k.pinShare > 0 && set.TPK.Cryptogram == "":
		return nil, usagef("--pin-share needs a TPK (--tpk or --keys)")
	case k.mac && set.TAK.Cryptogram == "":
		return nil, usagef("--mac needs a TAK (--tak or --keys)")
	}
	lmk := hsm.TestLMK()
	if set.LMK != "test" {
		var err error
		if lmk, err = hsm.LoadLMKFile(set.LMK); err != nil {
			return nil, usagef("--lmk: %v", err)
		}
	}
	out := &load.Keys{HSM: hsm.NewSoft(lmk), PIN: k.pin, PINShare: k.pinShare}
	if k.pinShare > 0 {
		out.TPK = set.TPK
	}
	if k.mac {
		out.TAK = set.TAK
	}
	return out, nil
}
