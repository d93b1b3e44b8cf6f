package main

import (
	"github.com/spf13/cobra"

	"github.com/cardswitch/cardswitch/hsm"
	simissuer "github.com/cardswitch/cardswitch/simulator/issuer"
)

// simKeys are the issuer simulator's key flags: the PIN rule and the MAC check.
type simKeys struct {
	lmk, zpk, zak, pin string
}

func (k *simKeys) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&k.lmk, "lmk", "test", `LMK the keys are under: "test" (the public Thales test LMK) or an LMK file`)
	fl.StringVar(&k.zpk, "zpk", "", "zone PIN key (cryptogram under the LMK): field 52 must hold --pin under it, else 55")
	fl.StringVar(&k.pin, "pin", simissuer.DefaultPIN, "the PIN every PIN block must hold (with --zpk)")
	fl.StringVar(&k.zak, "zak", "", "zone MAC key (cryptogram under the LMK): every request's MAC is verified, else 63")
}

// security builds the simulator's checks; nil when no key is given.
func (k *simKeys) security() (*simissuer.Security, error) {
	if k.zpk == "" && k.zak == "" {
		return nil, nil
	}
	lmk := hsm.TestLMK()
	if k.lmk != "test" {
		var err error
		if lmk, err = hsm.LoadLMKFile(k.lmk); err != nil {
			return nil, usagef("--lmk: %v", err)
		}
	}
	sc, err := simissuer.NewSecurity(hsm.NewSoft(lmk), hsm.Key{Cryptogram: k.zpk}, hsm.Key{Cryptogram: k.zak}, k.pin)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return sc, nil
}
