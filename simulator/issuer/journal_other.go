//go:build !unix

package issuer

import "os"

// lockFile does nothing where flock(2) does not exist: one simulator per journal is then the
// operator's business.
func lockFile(*os.File) error { return nil }
