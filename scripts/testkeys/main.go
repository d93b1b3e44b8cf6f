// Command testkeys writes a keys file of fresh test keys — a terminal TPK and TAK, a DUKPT BDK,
// an issuer ZPK and ZAK and an EMV MK-AC, as cryptograms under the LMK with their check values —
// for `cardswitch load --keys` and for building a switch configuration in scripts:
//
//	go run ./scripts/testkeys -out keys.yaml [-lmk test|FILE] [-env]
//
// With -env it also prints shell assignments (TPK_CRYPTOGRAM=… TPK_CHECK_VALUE=… for each key)
// for a script to `eval`.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/simulator/testkeys"
)

func main() { os.Exit(run()) }

func run() int {
	out := flag.String("out", "", "keys file to write (required)")
	lmkName := flag.String("lmk", "test", `LMK: "test" (the public Thales test LMK) or an LMK file`)
	env := flag.Bool("env", false, "also print the keys as shell assignments on stdout")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: testkeys -out FILE [-lmk test|FILE] [-env]")
		return 2
	}
	lmk := hsm.TestLMK()
	if *lmkName != "test" {
		var err error
		if lmk, err = hsm.LoadLMKFile(*lmkName); err != nil {
			fmt.Fprintln(os.Stderr, "testkeys: -lmk:", err)
			return 2
		}
	}
	ks, err := testkeys.Generate(hsm.NewSoft(lmk), *lmkName)
	if err == nil {
		err = ks.WriteFile(*out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testkeys:", err)
		return 1
	}
	if *env {
		for _, k := range []struct {
			name string
			key  hsm.Key
		}{{"TPK", ks.TPK}, {"TAK", ks.TAK}, {"BDK", ks.BDK}, {"ZPK", ks.ZPK}, {"ZAK", ks.ZAK}, {"MK_AC", ks.MKAC}} {
			fmt.Printf("%s_CRYPTOGRAM=%s\n%s_CHECK_VALUE=%s\n", k.name, shellWord(k.key.Cryptogram), k.name, shellWord(k.key.CheckValue))
		}
	}
	return 0
}

// shellWord keeps only the characters a cryptogram or check value may have, so that the output
// is safe to eval.
func shellWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
			return r
		}
		return -1
	}, s)
}
