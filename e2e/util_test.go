package e2e

import "os"

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "cardswitch-e2e-shared") }
