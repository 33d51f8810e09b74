package dcr_test

import "os"

// mkdirTemp makes the directory of the shared test PKI. It is removed by
// TestMain after all tests ran.
func mkdirTemp() (string, error) {
	dir, err := os.MkdirTemp("", "dcr-pki-")
	if err == nil {
		pkiDir = dir
	}
	return dir, err
}

var pkiDir string
